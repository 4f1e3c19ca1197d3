package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.driver.switching.RouterNames;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.util.Properties;
import java.util.Set;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The JMX query docs/driver.md shows, taken from the page itself, finds the service's router. */
@ExtendWith(PostgresPairExtension.class)
class JmxNamesTest {

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
