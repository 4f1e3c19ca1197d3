package dev.cutover.driver.control;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.driver.LeakCheckedPair;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresServer;
import dev.cutover.testkit.PostgresVersions;
import dev.cutover.testkit.StatementLog;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The lead secret, from which the leader-lock keys are derived, never reaches a server's log, on
 * the oldest and the newest server an install supports, each logging every statement with its
 * parameters. Before, the install set it with {@code SELECT setval('cutover.lead_secret', <value>,
 * true)}, which both servers logged (r27 D3), and any role that read the log could compute every key.
 */
@LeakCheckedPair
@PostgresVersions(oldMajor = 9, newMajor = 18)
class LeadSecretLogTest {

  @Test
  void install_everyStatementLogged_leadSecretInNoServerLog(PostgresPair pair) throws Exception {
    for (PostgresServer server : List.of(pair.oldServer(), pair.newServer())) {
      StatementLog log = StatementLog.of(server, "lead-secret-" + server.majorVersion());
      server.createDatabase("leadlog");
      String secret;
      try (Connection c = server.connect("leadlog"); Statement s = c.createStatement()) {
        s.execute("CREATE TABLE account (id int PRIMARY KEY)");
        ControlSchema.install(c);
        try (ResultSet rs = s.executeQuery("SELECT last_value, is_called FROM cutover.lead_secret")) {
          rs.next();
          secret = rs.getString(1);
          assertThat(rs.getBoolean(2)).as("the secret is set on %s", server).isTrue();
        }
      }
      assertThat(log.text()).as("%s logs the install's statements", log).contains("cutover.lead_secret");
      assertThat(log.linesWith(secret)).as("lines of %s with the lead secret", log).isEmpty();
    }
  }
}
