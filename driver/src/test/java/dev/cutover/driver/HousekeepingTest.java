package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.cutover.driver.Outcome;
import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresPair;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/** What a pool does to its connections never waits at the gate, so a switch cannot exhaust or evict a pool. */
@LeakCheckedPair
class HousekeepingTest {
  private static final String SCHEMA = "CREATE TABLE note (id serial PRIMARY KEY, body text NOT NULL)";

  @Test
  void poolHousekeeping_whileTheGateHolds_answersWithoutWaiting(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection straggler = DrainTest.connect(db.url("cutover.drain.timeout=20s"));
        Connection idle = DrainTest.connect(db.url("cutover.drain.timeout=20s"))) {
      straggler.setAutoCommit(false);
      DrainTest.insert(straggler, "keeps the gate closed");
      db.flip(Target.NEW);
      await().atMost(Duration.ofSeconds(10)).until(() -> (Boolean) RouterBean.attribute(db.database, "Holding"));

      assertThat(idle.isValid(1)).isTrue();
      idle.setAutoCommit(false);
      idle.rollback();
      idle.setAutoCommit(true);
      idle.setReadOnly(false);
      idle.setTransactionIsolation(Connection.TRANSACTION_READ_COMMITTED);
      idle.clearWarnings();
      idle.getMetaData().getDatabaseProductName();
      assertThat(RouterBean.attribute(db.database, "Holding"))
          .as("every housekeeping call returned while the switch still held the gate")
          .isEqualTo(true);

      straggler.commit();
      assertThat(events.next().outcome()).isEqualTo(Outcome.COMPLETED);
      assertThat(DrainTest.sideOf(idle)).isEqualTo(pair.newServer().port());
    }
  }

  @Test
  void dataSourceClassName_configuresThePoolThroughBeanSetters(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    HikariConfig config = new HikariConfig();
    config.setDataSourceClassName(CutoverDataSource.class.getName());
    Properties props = new Properties();
    props.setProperty("url", "jdbc:cutover:postgresql://" + pair.oldServer().host() + ":" + pair.oldServer().port()
        + "/" + db.database);
    props.setProperty("user", db.user());
    props.setProperty("newUrl", pair.newServer().jdbcUrl(db.database));
    props.setProperty("service", db.database);
    props.setProperty("flagProvider", "manual");
    props.setProperty("flagKey", db.flagKey);
    config.setDataSourceProperties(props);
    config.setMaximumPoolSize(2);
    try (SwitchEvents events = new SwitchEvents(db.database); HikariDataSource pool = new HikariDataSource(config)) {
      try (Connection c = pool.getConnection()) {
        assertThat(DrainTest.sideOf(c)).isEqualTo(pair.oldServer().port());
      }
      db.flip(Target.NEW);
      assertThat(events.next().outcome()).isEqualTo(Outcome.COMPLETED);
      try (Connection c = pool.getConnection(); Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT current_setting('port')::int")) {
        rs.next();
        assertThat(rs.getInt(1)).isEqualTo(pair.newServer().port());
      }
    }
  }
}
