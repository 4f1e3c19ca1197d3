package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cutover.driver.Outcome;
import dev.cutover.driver.SwitchEvent;
import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresPair;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The published driver jar, as an application gets it: run by Failsafe after packaging, with the
 * shaded jar instead of the classes and without Byte Buddy, HdrHistogram or cutover-flags on the
 * class path. It switches a live connection (generated JDBC wrappers, gate histogram and flags
 * all from the jar), carries nothing outside {@code dev.cutover} and {@code META-INF}, and its
 * installed pom names only PgJDBC and slf4j-api.
 */
@LeakCheckedPair
class ShadedJarIT {

  @Test
  void classPath_shadedJarOnly_noUnrelocatedLibraries() throws Exception {
    assertThat(CutoverDriver.class.getProtectionDomain().getCodeSource().getLocation().getPath())
        .as("Failsafe runs against the packaged jar")
        .endsWith(".jar");
    for (String library : List.of("net.bytebuddy.ByteBuddy", "org.HdrHistogram.Histogram")) {
      assertThatThrownBy(() -> Class.forName(library)).as(library).isInstanceOf(ClassNotFoundException.class);
    }
  }

  /** cutover-flags-launchdarkly and the other modules find the flags API and common helpers in the jar, unrelocated. */
  @Test
  void classPath_shadedJarOnly_flagsAndCommonFromTheJarUnrelocated() throws Exception {
    String jar = CutoverDriver.class.getProtectionDomain().getCodeSource().getLocation().getPath();
    for (String type : List.of("dev.cutover.flags.Target", "dev.cutover.common.Threads")) {
      assertThat(Class.forName(type).getProtectionDomain().getCodeSource().getLocation().getPath()).as(type)
          .isEqualTo(jar);
    }
  }

  @Test
  void flip_throughTheShadedJar_switchesALiveConnection(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, Workload.SCHEMA, true);
    Properties p = new Properties();
    p.setProperty("user", db.user());
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection c = DriverManager.getConnection(db.url(), p)) {
      assertThat(serverPort(c)).isEqualTo(pair.oldServer().port());
      db.flip(Target.NEW);
      SwitchEvent e = events.next();
      assertThat(e.outcome()).as(e.reason()).isEqualTo(Outcome.COMPLETED);
      assertThat(serverPort(c)).isEqualTo(pair.newServer().port());
    }
  }

  @Test
  void jar_entries_onlyCutoverPackagesAndMetaInf() throws Exception {
    Path jar = Path.of(CutoverDriver.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    List<String> foreign = new ArrayList<>();
    try (JarFile file = new JarFile(jar.toFile())) {
      file.stream().map(e -> e.getName())
          .filter(n -> !n.startsWith("dev/cutover/") && !n.startsWith("META-INF/") && !n.equals("dev/") && !n.endsWith("/"))
          .forEach(foreign::add);
      assertThat(file.stream().map(e -> e.getName())).noneMatch(n -> n.startsWith("META-INF/versions/"));
    }
    assertThat(foreign).isEmpty();
    System.out.printf("[shaded jar] %s: %,d bytes%n", jar.getFileName(), Files.size(jar));
  }

  @Test
  void installedPom_dependencyReduced_namesOnlyPgJdbcAndSlf4j() throws Exception {
    String pom = Files.readString(Path.of(System.getProperty("cutover.reducedPom")));
    Matcher m = Pattern.compile("<dependency>\\s*<groupId>([^<]+)</groupId>\\s*<artifactId>([^<]+)</artifactId>"
        + "(?:(?!</dependency>).)*?<scope>([^<]+)</scope>", Pattern.DOTALL).matcher(pom);
    List<String> runtime = new ArrayList<>();
    while (m.find()) {
      if (m.group(3).equals("compile") || m.group(3).equals("runtime")) {
        runtime.add(m.group(1) + ":" + m.group(2));
      }
    }
    assertThat(runtime).containsExactlyInAnyOrder("org.postgresql:postgresql", "org.slf4j:slf4j-api");
  }

  private static int serverPort(Connection c) throws Exception {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT current_setting('port')::int")) {
      rs.next();
      return rs.getInt(1);
    }
  }
}
