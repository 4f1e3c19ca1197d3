package dev.cutover.flyway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.driver.CutoverDriver;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.output.MigrateResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Flyway given a {@code jdbc:cutover:} URL, as its command line and Maven plugin give it: it finds
 * this plugin, opens connections through the Cutover driver and migrates the serving database.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
class CutoverDatabaseTypeTest {

  @Test
  void migrate_cutoverUrl_runsThroughTheDriverOnTheServingDatabase(PostgresPair pair) throws Exception {
    String db = "flyway_plugin";
    pair.oldServer().createDatabase(db);
    pair.newServer().createDatabase(db);
    String url = "jdbc:cutover:postgresql://" + pair.oldServer().host() + ":" + pair.oldServer().port() + "/" + db
        + "?cutover.service=flyway-plugin&cutover.new.url="
        + URLEncoder.encode(pair.newServer().jdbcUrl(db), StandardCharsets.UTF_8);
    try {
      MigrateResult result = Flyway.configure()
          .dataSource(url, pair.oldServer().user(), null)
          .locations("classpath:db/cutover-flyway")
          .load()
          .migrate();

      assertThat(result.success).isTrue();
      assertThat(result.migrationsExecuted).isEqualTo(1);
      assertThat(CutoverDriver.routers()).anyMatch(r -> r.getService().equals("flyway-plugin"));
      try (Connection c = pair.oldServer().connect(db); Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT name FROM account")) {
        assertThat(rs.next()).isTrue();
        assertThat(rs.getString(1)).isEqualTo("first");
      }
    } finally {
      CutoverDriver.shutdown("flyway-plugin");
    }
  }

  @Test
  void handlesJdbcUrl_onlyCutoverUrls() {
    CutoverDatabaseType type = new CutoverDatabaseType();
    assertThat(type.handlesJDBCUrl("jdbc:cutover:postgresql://db/app")).isTrue();
    assertThat(type.handlesJDBCUrl("jdbc:postgresql://db/app")).isFalse();
    assertThat(type.getDriverClass("jdbc:cutover:postgresql://db/app", getClass().getClassLoader()))
        .isEqualTo(CutoverDriver.class.getName());
  }
}
