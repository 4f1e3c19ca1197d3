package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresServer;
import dev.cutover.testkit.PostgresVersions;
import dev.cutover.testkit.Standby;
import java.io.IOException;
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
 * drain rolls back, and of the idle sessions whose advisory locks the hand-over reads, are the first
 * server's, and on the second they may be anyone's.
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
   * The switch asks which backend its connection reaches once, not again in the drain.
   */
  @Test
  void drain_switchReachesAnotherServerOfOld_terminatesNothingThere_andAbortsNamingTheStraggler(PostgresPair pair)
      throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (Standby copy = promotedCopy(pair.oldServer(), db)) {
      String direct = directUrl(copy, db);
      try (SwitchEvents events = new SwitchEvents(db.database);
          Connection slow = DrainTest.connect(db.url("cutover.drain.timeout=300ms", "cutover.switch.force=true", direct))) {
        slow.setAutoCommit(false);
        DrainTest.insert(slow, "doomed");
        int pid = slow.unwrap(PGConnection.class).getBackendPID();

        db.flip(Target.NEW);
        SwitchEvent event = events.next();

        assertThat(copy.log()).as("the copy's statements").doesNotContain("pg_terminate_backend");
        assertThat(identityReads(copy)).as("reads of the switch's own backend on the copy (the check's, the drain's)")
            .isEqualTo(1);
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

  /**
   * An idle application session on old holds an advisory lock while old's direct URL reaches a
   * promoted copy of old. Before, the hand-over read the locks of the session's process id in the
   * copy's {@code pg_locks} (anyone's there), found none, and the session moved to new at its next
   * use as if nothing had happened, its lock no longer exclusive from the release to its move (and
   * had old died, gone for good). Now nothing is read there for it, the switch completes, and the
   * session fails its next use with 08003 naming its server and the one the switch reached, so that
   * the pool replaces it; the next connection opens on new. The switch asks which backend its
   * connection reaches once, not again in the hand-over nor when it takes the leader's lock.
   */
  @Test
  void handover_idleSessionOnAnotherServerOfOld_readsNoLocksThere_andFailsItsNextUseNamingBothServers(PostgresPair pair)
      throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (Standby copy = promotedCopy(pair.oldServer(), db)) {
      String url = db.url("cutover.switch.force=true", directUrl(copy, db));
      try (SwitchEvents events = new SwitchEvents(db.database); Connection holder = DrainTest.connect(url)) {
        try (Statement s = holder.createStatement()) {
          s.execute("SELECT pg_advisory_lock(4244)");
        }
        int pid = holder.unwrap(PGConnection.class).getBackendPID();

        db.flip(Target.NEW);
        SwitchEvent event = events.next();

        assertThat(event.outcome()).as(event.summary()).isEqualTo(Outcome.COMPLETED);
        assertThat(copy.log()).as("the copy's statements").doesNotContain("pg_locks");
        assertThat(identityReads(copy)).as("reads of the switch's own backend on the copy (the check's, the hand-over's,"
            + " the leader's)").isEqualTo(1);
        assertThatThrownBy(() -> DrainTest.insert(holder, "after"))
            .isInstanceOfSatisfying(SQLException.class, e -> {
              assertThat(e.getSQLState()).isEqualTo("08003");
              assertThat(e.getMessage()).contains("backend " + pid + " on ").contains("another server")
                  .contains("advisory locks").contains("cutover.old.direct-url").contains("close it and take another");
            });
        assertThat(holder.isValid(1)).as("a pool replaces it").isFalse();
        try (Connection next = DrainTest.connect(url)) {
          DrainTest.insert(next, "next");
          assertThat(DrainTest.sideOf(next)).as("the next connection's side").isEqualTo(pair.newServer().port());
        }
      } finally {
        CutoverDriver.shutdown(db.database);
      }
    }
  }

  /** A promoted copy of {@code old} that logs every statement it runs. */
  private static Standby promotedCopy(PostgresServer old, Replicated db) throws Exception {
    Standby copy = Standby.of(old);
    try {
      copy.promote();
      try (Connection c = DriverManager.getConnection(copy.jdbcUrl(db.database), old.user(), old.password());
          Statement s = c.createStatement()) {
        s.execute("ALTER SYSTEM SET log_statement = 'all'");
        s.execute("SELECT pg_reload_conf()");
      }
      return copy;
    } catch (Exception e) {
      copy.close();
      throw e;
    }
  }

  /**
   * How often the copy was asked which backend and server answer there ({@code Backend.of}): only
   * the switch's own connection to old reaches it, and the switch reads that once per connection.
   */
  private static long identityReads(Standby copy) throws IOException {
    return copy.log().lines().filter(l -> l.contains("pg_postmaster_start_time()")).count();
  }

  /** The setting that points the switch's own connections to old at {@code copy}. */
  private static String directUrl(Standby copy, Replicated db) {
    return "cutover.old.direct-url=" + URLEncoder.encode(copy.jdbcUrl(db.database), StandardCharsets.UTF_8);
  }
}
