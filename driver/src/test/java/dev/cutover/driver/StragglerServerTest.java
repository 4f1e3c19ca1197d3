package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresServer;
import dev.cutover.testkit.PostgresVersions;
import dev.cutover.testkit.Standby;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;

/**
 * The switch's own connection to old reaches another server than the application's connections
 * do (old failed over, a load balancer or DNS moved its URL): the process ids of the stragglers the
 * drain rolls back are the first server's, and on the second they may be anyone's.
 */
@LeakCheckedPair
@PostgresVersions(oldMajor = 12, newMajor = 15) // Debian 12's pg_basebackup (15) backs up 15 and older
class StragglerServerTest {
  private static final String SCHEMA = "CREATE TABLE note (id serial PRIMARY KEY, body text NOT NULL)";

  /**
   * Old's direct URL reaches a promoted copy of old while the application's connection is on old
   * itself. Before, the drain ran {@code pg_terminate_backend} on the copy for old's process ids
   * (r31). Now nothing is terminated there, and the switch aborts naming the straggler, its server
   * and the one the switch reached; the straggler gets 40001 and old serves on. Forced: the probe's
   * marker, written on the copy, would never reach new, and the switch would stop before its drain.
   */
  @Test
  void drain_switchReachesAnotherServerOfOld_terminatesNothingThere_andAbortsNamingTheStraggler(PostgresPair pair)
      throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    PostgresServer old = pair.oldServer();
    try (Standby copy = Standby.of(old)) {
      copy.promote();
      try (Connection c = DriverManager.getConnection(copy.jdbcUrl(db.database), old.user(), old.password());
          Statement s = c.createStatement()) {
        s.execute("ALTER SYSTEM SET log_statement = 'all'");
        s.execute("SELECT pg_reload_conf()");
      }
      String direct = "cutover.old.direct-url=" + URLEncoder.encode(copy.jdbcUrl(db.database), StandardCharsets.UTF_8);
      try (SwitchEvents events = new SwitchEvents(db.database);
          Connection slow = DrainTest.connect(db.url("cutover.drain.timeout=300ms", "cutover.switch.force=true", direct))) {
        slow.setAutoCommit(false);
        DrainTest.insert(slow, "doomed");
        int pid = slow.unwrap(PGConnection.class).getBackendPID();

        db.flip(Target.NEW);
        SwitchEvent event = events.next();

        assertThat(copy.log()).as("the copy's statements").doesNotContain("pg_terminate_backend");
        assertThat(event.outcome()).as(event.summary()).isEqualTo(Outcome.ABORTED);
        assertThat(event.reason()).contains("rolled-back transactions on old ran on another server")
            .contains("backend " + pid + " on ").contains("cutover.old.direct-url")
            .contains("terminates nothing there");
        assertThat(event.rolledBack()).isEqualTo(1);

        assertThatThrownBy(() -> DrainTest.insert(slow, "doomed-2"))
            .isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("40001"));
        slow.rollback();
        DrainTest.insert(slow, "retried");
        slow.commit();
        try (Connection o = db.oldDirect(); Statement s = o.createStatement();
            ResultSet rs = s.executeQuery("SELECT string_agg(body, ',') FROM note")) {
          rs.next();
          assertThat(rs.getString(1)).as("rows on old, which serves on").isEqualTo("retried");
        }
      } finally {
        CutoverDriver.shutdown(db.database);
      }
    }
  }
}
