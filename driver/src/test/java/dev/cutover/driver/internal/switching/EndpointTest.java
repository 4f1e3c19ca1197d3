package dev.cutover.driver.internal.switching;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.driver.LeakCheckedPair;
import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresServer;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Properties;
import org.junit.jupiter.api.Test;

@LeakCheckedPair
class EndpointTest {

  /**
   * A database whose transactions are SERIALIZABLE by default (ALTER DATABASE SET, as some teams
   * run every database): the switch's own sessions run READ COMMITTED, which the control schema's
   * functions are written for, while application connections keep the database's default.
   */
  @Test
  void forSwitch_databaseSerializableByDefault_onlyTheSwitchsSessionsReadCommitted(PostgresPair pair) throws Exception {
    PostgresServer server = pair.oldServer();
    String database = server.createDatabase("endpoint_serializable");
    try (Connection admin = server.connect(); Statement s = admin.createStatement()) {
      s.execute("ALTER DATABASE endpoint_serializable SET default_transaction_isolation = 'serializable'");
    }
    Properties login = new Properties();
    login.setProperty("user", server.user());
    login.setProperty("password", server.password());
    Endpoint application = new Endpoint(Target.OLD, server.jdbcUrl(database), login);

    try (Connection app = application.open(); Connection control = application.forSwitch(Duration.ofSeconds(5), Duration.ofSeconds(5)).open()) {
      assertThat(isolation(app)).isEqualTo("serializable");
      assertThat(isolation(control)).isEqualTo("read committed");
    }
  }

  private static String isolation(Connection c) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SHOW transaction_isolation")) {
      rs.next();
      return rs.getString(1);
    }
  }
}
