package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.driver.RouterMXBean;
import dev.cutover.driver.internal.switching.RouterNames;
import dev.cutover.testkit.PostgresPair;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import org.junit.jupiter.api.Test;

/**
 * docs/driver.md as written: its URL and its {@code cutover.properties}, read from the page (only
 * the placeholder hosts and the flag file's path replaced), connect; its JMX query finds the
 * service's router.
 */
@LeakCheckedPair
class DriverDocsTest {

  @Test
  void documentedUrlAndPropertiesFile_connectToOldThroughTheFileFlag(PostgresPair pair) throws Exception {
    pair.oldServer().createDatabase("app");
    pair.newServer().createDatabase("app");
    Path flag = Files.createTempFile("cutover-flag", "");
    Files.writeString(flag, "old\n");
    List<String> blocks = blocks(Files.readString(Path.of(System.getProperty("cutover.docs", "../docs"), "driver.md")));
    String url = hosts(blocks.stream().filter(b -> b.strip().startsWith("jdbc:cutover:")).findFirst().orElseThrow(), pair)
        .strip();
    String file = hosts(blocks.stream().filter(b -> b.contains("# cutover.properties")).findFirst().orElseThrow(), pair)
        .replace("/etc/booking/cutover-flag", flag.toString());
    Path config = Files.createTempFile("cutover", ".properties");
    Files.writeString(config, file);

    System.setProperty("cutover.config", config.toString());
    Properties p = new Properties();
    p.setProperty("user", pair.oldServer().user());
    try (Connection c = DriverManager.getConnection(url, p); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT current_setting('port')::int")) {
      rs.next();
      assertThat(rs.getInt(1)).isEqualTo(pair.oldServer().port());
      RouterMXBean router = CutoverDriver.routers().stream().filter(r -> r.getService().equals("booking"))
          .findFirst().orElseThrow();
      assertThat(router.getFlagTarget()).isEqualTo("old");
      assertThat(router.getFlagHealth()).isEqualTo("VALID");
    } finally {
      System.clearProperty("cutover.config");
      CutoverDriver.shutdown("booking");
    }
  }

  private static String hosts(String text, PostgresPair pair) {
    return text.replace("old-host:5432", pair.oldServer().host() + ":" + pair.oldServer().port())
        .replace("new-host:5432", pair.newServer().host() + ":" + pair.newServer().port());
  }

  /** Every fenced code block of a Markdown page. */
  private static List<String> blocks(String page) {
    List<String> blocks = new ArrayList<>();
    StringBuilder block = null;
    for (String line : page.split("\n")) {
      if (line.strip().startsWith("```")) {
        if (block != null) {
          blocks.add(block.toString());
          block = null;
        } else {
          block = new StringBuilder();
        }
      } else if (block != null) {
        block.append(line).append('\n');
      }
    }
    return blocks;
  }

  @Test
  void query_asDocumented_findsTheServicesRouter(PostgresPair pair) throws Exception {
    String pattern = documentedPattern();
    String service = pattern.substring(pattern.indexOf("service=") + "service=".length(), pattern.lastIndexOf(",*"));
    Replicated db = Replicated.create(pair, Workload.SCHEMA, true);
    Properties p = new Properties();
    p.setProperty("user", db.user());
    MBeanServer server = ManagementFactory.getPlatformMBeanServer();
    try (Connection c = DriverManager.getConnection(db.url("cutover.service=" + service), p)) {
      Set<ObjectName> found = server.queryNames(new ObjectName(pattern), null);

      assertThat(found).hasSize(1);
      ObjectName name = found.iterator().next();
      assertThat(name.getKeyProperty("service")).isEqualTo(service);
      assertThat(server.getAttribute(name, "Serving")).isEqualTo("old");
    } finally {
      CutoverDriver.shutdown(service);
    }
    assertThat(server.queryNames(new ObjectName(pattern), null)).isEmpty();
  }

  @Test
  void value_needingQuotes_isQuotedAndOthersAreNot() {
    assertThat(RouterNames.value("booking")).isEqualTo("booking");
    assertThat(RouterNames.value("web-1.eu_west")).isEqualTo("web-1.eu_west");
    assertThat(RouterNames.value("host:4711:1")).isEqualTo("\"host:4711:1\"");
    assertThat(RouterNames.of("booking", "host:4711:1", 1).getKeyProperty("instance")).isEqualTo("\"host:4711:1\"");
  }

  /** The pattern on its own line in docs/driver.md's observability section. */
  private static String documentedPattern() throws Exception {
    return Files.readAllLines(Path.of(System.getProperty("cutover.docs", "../docs"), "driver.md")).stream()
        .map(String::strip)
        .filter(line -> line.startsWith("dev.cutover:type=Router,service=") && line.endsWith(",*"))
        .findFirst()
        .orElseThrow(() -> new AssertionError("docs/driver.md shows no query dev.cutover:type=Router,service=...,*"));
  }
}
