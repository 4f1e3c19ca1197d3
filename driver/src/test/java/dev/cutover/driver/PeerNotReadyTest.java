package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.cutover.driver.control.ControlSchema;
import dev.cutover.driver.internal.control.Fence;
import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresServer;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * One instance of a service cannot get ready for a switch (its connections to new are refused):
 * the others refuse the switch before any gate closes, quoting why, and try it again while the
 * flag asks for new, rather than hold their applications for a switch that cannot complete.
 */
@LeakCheckedPair
class PeerNotReadyTest {
  /** A role of the control plane whose sessions on new a CONNECTION LIMIT caps (a superuser's are not). */
  private static final String LIMITED = "limited_app";

  private static HikariDataSource pool(Replicated db, String user, String... settings) {
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(db.url(settings));
    config.setUsername(user);
    config.setMaximumPoolSize(4);
    config.setMinimumIdle(4);
    config.setPoolName(user + "-" + db.database);
    return new HikariDataSource(config);
  }

  private static void connectionLimit(PostgresServer server, int limit) throws Exception {
    try (Connection c = server.connect(); Statement s = c.createStatement()) {
      s.execute("ALTER ROLE " + LIMITED + " CONNECTION LIMIT " + limit);
    }
  }

  /**
   * As a reviewer found with two instances of pools of 20 and ALTER ROLE app CONNECTION LIMIT 30 on
   * new: the instance whose connections to new were refused never told its peers, and the leader
   * waited for it, closed its gate, held its application 8 s and aborted "instances [...] did not
   * drain within 8000 ms: do they see the flag?"; nothing tried again. Now the switch is refused
   * before any gate closes, each event names new's connection limit, and once the limit is lifted
   * the retry completes without the flag changing.
   */
  @Test
  void oneInstanceCannotOpenConnectionsToNew_switchRefusedBeforeAnyGateClosesNamingTheLimit_andRetried(PostgresPair pair)
      throws Exception {
    for (PostgresServer server : new PostgresServer[] {pair.oldServer(), pair.newServer()}) {
      try (Connection c = server.connect(); Statement s = c.createStatement()) {
        s.execute("DO $$ BEGIN CREATE ROLE " + LIMITED + " LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
      }
    }
    Replicated db = Replicated.create(pair, Workload.SCHEMA, true);
    for (Connection c : new Connection[] {db.oldDirect(), db.newDirect()}) {
      try (c; Statement s = c.createStatement()) {
        s.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO " + LIMITED);
        s.execute("GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO " + LIMITED);
        ControlSchema.install(c, List.of(LIMITED));
      }
    }
    // Its switch session and one connection of its pool: the second is refused.
    connectionLimit(pair.newServer(), 2);
    List<SwitchEvent> refusals = new ArrayList<>();
    try (SwitchEvents events = new SwitchEvents(db.database);
        HikariDataSource ok = pool(db, db.user(), "cutover.instance=ok", "cutover.drain.timeout=2s",
            "cutover.switch.retry-interval=1s");
        HikariDataSource limited = pool(db, LIMITED, "cutover.instance=limited", "cutover.drain.timeout=2s",
            "cutover.switch.retry-interval=1s");
        Connection watch = db.oldDirect()) {
      await().atMost(Duration.ofSeconds(30)).until(() -> ok.getHikariPoolMXBean().getTotalConnections() == 4
          && limited.getHikariPoolMXBean().getTotalConnections() == 4);

      db.flip(Target.NEW);
      List<SwitchEvent> seen = new ArrayList<>();
      SwitchEvent healthy = null;
      while (healthy == null) {
        SwitchEvent e = events.next();
        seen.add(e);
        healthy = e.instance().startsWith("ok") ? e : null;
      }

      assertThat(healthy.outcome()).as(healthy.summary()).isEqualTo(Outcome.ABORTED);
      assertThat(healthy.gateClosed()).as("the healthy instance's gate stayed open: %s", healthy.summary()).isFalse();
      assertThat(healthy.gateWaits()).as(healthy.summary()).isZero();
      assertThat(healthy.reason()).as("the healthy instance quotes its peer").contains("instance limited")
          .contains("cannot get ready").contains("too many connections for role")
          .contains("retrying every 1 s while the flag asks for new");
      for (SwitchEvent e : seen) {
        assertThat(e.outcome()).as(e.summary()).isEqualTo(Outcome.ABORTED);
        assertThat(e.gateClosed()).as("no gate closed: %s", e.summary()).isFalse();
        assertThat(e.reason()).as(e.summary()).contains("too many connections for role").contains("CONNECTION LIMIT");
      }
      assertThat(Fence.isRaised(watch)).isFalse();
      for (HikariDataSource p : List.of(ok, limited)) {
        try (Connection c = p.getConnection()) {
          assertThat(DrainTest.sideOf(c)).isEqualTo(pair.oldServer().port());
        }
      }

      connectionLimit(pair.newServer(), -1);
      // Retried while the flag asks for new: once the limit is lifted, both complete without another flip.
      int completed = 0;
      while (completed < 2) {
        SwitchEvent e = events.next();
        if (e.outcome() == Outcome.COMPLETED) {
          completed++;
        } else {
          refusals.add(e);
        }
      }
      assertThat(refusals).allSatisfy(e -> assertThat(e.gateClosed()).as(e.summary()).isFalse());
      for (HikariDataSource p : List.of(ok, limited)) {
        try (Connection c = p.getConnection()) {
          assertThat(DrainTest.sideOf(c)).isEqualTo(pair.newServer().port());
        }
      }
    } finally {
      connectionLimit(pair.newServer(), -1);
      db.flip(Target.OLD);
      CutoverDriver.shutdown(db.database);
    }
  }

  /**
   * A control schema installed before {@code not_ready} (upgraded in place only by the next
   * install): two instances still switch, their waits for ready peers reading it as no peer having
   * said anything.
   */
  @Test
  void controlSchemaWithoutNotReady_twoInstancesStillSwitch(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, Workload.SCHEMA, true);
    for (Connection c : new Connection[] {db.oldDirect(), db.newDirect()}) {
      try (c; Statement s = c.createStatement()) {
        s.execute("DROP FUNCTION cutover.not_ready(text, text, text, text)");
        s.execute("DROP FUNCTION cutover.not_ready_peers(text, text, integer)");
      }
    }
    try (SwitchEvents events = new SwitchEvents(db.database);
        HikariDataSource a = pool(db, db.user(), "cutover.instance=a");
        HikariDataSource b = pool(db, db.user(), "cutover.instance=b")) {
      await().atMost(Duration.ofSeconds(30)).until(() -> a.getHikariPoolMXBean().getTotalConnections() == 4
          && b.getHikariPoolMXBean().getTotalConnections() == 4);

      db.flip(Target.NEW);

      for (SwitchEvent e : List.of(events.next(), events.next())) {
        assertThat(e.outcome()).as(e.summary()).isEqualTo(Outcome.COMPLETED);
      }
      for (HikariDataSource p : List.of(a, b)) {
        try (Connection c = p.getConnection()) {
          assertThat(DrainTest.sideOf(c)).isEqualTo(pair.newServer().port());
        }
      }
    } finally {
      db.flip(Target.OLD);
      CutoverDriver.shutdown(db.database);
    }
  }
}
