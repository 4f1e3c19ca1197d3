package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresPair;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;

/**
 * The switch's own connection to old logs in as another role than the application's sessions
 * (old's direct URL names its user), one without {@code pg_read_all_stats}: PostgreSQL shows it
 * their processes in {@code pg_stat_activity} without their start, so it cannot tell them from
 * another session that has the same process id since.
 */
@LeakCheckedPair
class SwitchRoleTest {
  private static final String SCHEMA = "CREATE TABLE note (id serial PRIMARY KEY, body text NOT NULL)";
  private static final String SWITCHER = "switcher";

  /**
   * A straggler stays in its transaction on old past the drain timeout, its process's start hidden
   * from the switch's role. Before, the switch closed its gate, rolled the straggler back and either
   * aborted in the drain, unable to see whether it ended, or completed once its process id was
   * gone: the application paused and lost its transaction for a check the switch could make with
   * traffic flowing. Now the switch is refused before its gate, naming the backend, the role and the
   * grant, and the straggler's transaction goes on and commits.
   */
  @Test
  void drain_switchRoleCannotSeeAStragglersStart_isRefusedBeforeTheGateAndTheTransactionCommits(PostgresPair pair)
      throws Exception {
    Replicated db = database(pair);
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection slow = DrainTest.connect(db.url("cutover.drain.timeout=300ms", "cutover.switch.retry-interval=1s",
            switcherUrl(db)));
        Connection watch = db.oldDirect()) {
      slow.setAutoCommit(false);
      DrainTest.insert(slow, "kept");
      int pid = slow.unwrap(PGConnection.class).getBackendPID();

      db.flip(Target.NEW);
      SwitchEvent event = events.next();

      assertThat(event.outcome()).as(event.summary()).isEqualTo(Outcome.ABORTED);
      assertThat(event.gateClosed()).as("refused before the gate: %s", event.summary()).isFalse();
      assertThat(event.rolledBack()).as(event.summary()).isZero();
      assertThat(event.reason()).contains("backends [" + pid + "]").contains("role \"" + SWITCHER + "\"")
          .contains("GRANT pg_read_all_stats TO \"" + SWITCHER + "\"").contains("cutover.old.direct-url")
          .contains("retrying every 1 s");
      assertThat(stateOf(watch, pid)).as("the straggler's backend on old").isEqualTo("idle in transaction");
      DrainTest.insert(slow, "kept too");
      slow.commit();
      assertThat(DrainTest.sideOf(slow)).as("the straggler's side").isEqualTo(pair.oldServer().port());
      try (Statement s = watch.createStatement();
          ResultSet rs = s.executeQuery("SELECT count(*) FROM note WHERE body LIKE 'kept%'")) {
        rs.next();
        assertThat(rs.getInt(1)).as("the straggler's rows, committed on old").isEqualTo(2);
      }
    } finally {
      CutoverDriver.shutdown(db.database);
    }
  }

  /**
   * An idle application session holds an advisory lock on old. Before, the hand-over read its
   * locks by process id and start, saw no start, read none, and the switch moved the session to new
   * without its lock; then it aborted there, with its gate closed. Now the switch is refused before
   * its gate, naming the role and the grant, and the session keeps its lock on old.
   */
  @Test
  void handover_switchRoleCannotSeeAnIdleSessionsStart_isRefusedBeforeTheGateAndTheSessionKeepsItsLockOnOld(
      PostgresPair pair) throws Exception {
    Replicated db = database(pair);
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection holder = DrainTest.connect(db.url(switcherUrl(db)))) {
      try (Statement s = holder.createStatement()) {
        s.execute("SELECT pg_advisory_lock(4247)");
      }
      int pid = holder.unwrap(PGConnection.class).getBackendPID();

      db.flip(Target.NEW);
      SwitchEvent event = events.next();

      assertThat(event.outcome()).as(event.summary()).isEqualTo(Outcome.ABORTED);
      assertThat(event.gateClosed()).as("refused before the gate: %s", event.summary()).isFalse();
      assertThat(event.reason()).contains("backends [" + pid + "]").contains("advisory locks")
          .contains("role \"" + SWITCHER + "\"").contains("GRANT pg_read_all_stats TO \"" + SWITCHER + "\"")
          .contains("cutover.old.direct-url");
      assertThat(DrainTest.sideOf(holder)).as("the holder's side").isEqualTo(pair.oldServer().port());
      try (Statement s = holder.createStatement(); ResultSet rs = s.executeQuery("SELECT pg_advisory_unlock(4247)")) {
        rs.next();
        assertThat(rs.getBoolean(1)).as("the holder still holds its lock, on old").isTrue();
      }
    } finally {
      CutoverDriver.shutdown(db.database);
    }
  }

  /**
   * A router whose switch logs in to old as another role than the application, one that cannot see
   * the application's process starts, says so when it starts, with the remedy, before any switch
   * is refused for it. Before, nothing was said until a switch had gone wrong.
   */
  @Test
  void startup_switchRoleCannotSeeTheApplicationsSessions_warnsNamingTheRoleAndTheGrant(PostgresPair pair)
      throws Exception {
    Replicated db = database(pair);
    try (LogCapture logs = new LogCapture(); Connection app = DrainTest.connect(db.url(switcherUrl(db)))) {
      DrainTest.insert(app, "started");

      assertThat(logs.lines(Level.WARN)).as("warnings at start").anySatisfy(line -> assertThat(line)
          .contains("role \"" + SWITCHER + "\"").contains("GRANT pg_read_all_stats TO \"" + SWITCHER + "\"")
          .contains("cutover.old.direct-url").contains("as postgres").contains("is refused"));
    } finally {
      CutoverDriver.shutdown(db.database);
    }
  }

  /**
   * The database, and on old a login role for the switch with what it needs there but {@code
   * pg_read_all_stats}: the control plane, the sequences' values, and {@code pg_signal_backend} to
   * end the application's (superuser's) stragglers.
   */
  private static Replicated database(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (Connection c = db.oldDirect(); Statement s = c.createStatement()) {
      s.execute("DO $$ BEGIN CREATE ROLE " + SWITCHER + " LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
      s.execute("SELECT cutover.grant_control_plane('" + SWITCHER + "')");
      s.execute("GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO " + SWITCHER);
      s.execute("GRANT pg_signal_backend TO " + SWITCHER);
    }
    return db;
  }

  /** The setting that has the switch's own connections to old log in as {@link #SWITCHER}. */
  private static String switcherUrl(Replicated db) {
    return "cutover.old.direct-url=" + URLEncoder.encode(db.pair.oldServer().jdbcUrl(db.database) + "?user=" + SWITCHER,
        StandardCharsets.UTF_8);
  }

  /** A backend's state in old's {@code pg_stat_activity}, as a superuser sees it; null once it is gone. */
  private static String stateOf(Connection watch, int pid) throws SQLException {
    try (PreparedStatement ps = watch.prepareStatement("SELECT state FROM pg_stat_activity WHERE pid = ?")) {
      ps.setInt(1, pid);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getString(1) : null;
      }
    }
  }
}
