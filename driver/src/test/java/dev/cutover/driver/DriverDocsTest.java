package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.driver.switching.RouterMXBean;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * docs/driver.md's configuration as written: its URL and its {@code cutover.properties}, both read
 * from the page, only the placeholder hosts and the flag file's path replaced.
 */
@ExtendWith(PostgresPairExtension.class)
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
}
