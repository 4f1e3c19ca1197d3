package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresPair;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The connections a switch opens to new ahead of its release (and those it reserves for sessions
 * holding advisory locks) may die before a session takes them: new's idle_session_timeout for the
 * role, a restart of new, an operator's pg_terminate_backend. A session that moves after that goes
 * on on a connection that answers, as a pool's next connection would without the driver; one whose
 * reservation died is told that the advisory locks it held on new were lost, not that they stay
 * taken (reviewer r17, D1 and D3).
 *
 * <p>The application's connections to new carry an application name of their own, and the switch's
 * go by new's direct URL without it, so that the test kills exactly those opened for the application.
 */
@LeakCheckedPair
class WarmConnectionTest {
  private static final String SCHEMA = "CREATE TABLE note (id serial PRIMARY KEY, body text NOT NULL)";
  private static final String APP_NAME = "cutover-warm-test";
  private static PostgresPair pair;

  @BeforeAll
  static void setUp(PostgresPair p) {
    pair = p;
  }

  /** The reviewer's D1: the session carries a setting, so the move's set-up meets the dead connection. */
  @Test
  void flip_warmConnectionKilledBeforeTheSessionMoves_sessionWithSettingsGoesOnOnNew() throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (SwitchEvents events = new SwitchEvents(db.database); Connection c = DrainTest.connect(appUrl(db))) {
      try (Statement s = c.createStatement()) {
        s.execute("SET statement_timeout = '4321ms'");
      }
      db.flip(Target.NEW);
      assertThat(events.next().outcome()).isEqualTo(Outcome.COMPLETED);
      assertThat(killAppConnectionsOnNew(db)).as("the connection opened ahead for the session").isEqualTo(1);

      DrainTest.insert(c, "after the flip");
      assertThat(DrainTest.sideOf(c)).isEqualTo(pair.newServer().port());
      assertThat(query(c, "SHOW statement_timeout")).as("the session's setting moved").isEqualTo("4321ms");
      assertThat(c.isValid(1)).isTrue();
    }
  }

  /** A session with nothing to set up on new sends nothing when it moves: the connection it takes is checked all the same. */
  @Test
  void flip_warmConnectionKilledBeforeTheSessionMoves_plainSessionGoesOnOnNew() throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (SwitchEvents events = new SwitchEvents(db.database); Connection c = DrainTest.connect(appUrl(db))) {
      DrainTest.insert(c, "before the flip");
      db.flip(Target.NEW);
      assertThat(events.next().outcome()).isEqualTo(Outcome.COMPLETED);
      assertThat(killAppConnectionsOnNew(db)).isEqualTo(1);

      DrainTest.insert(c, "after the flip");
      assertThat(DrainTest.sideOf(c)).isEqualTo(pair.newServer().port());
    }
  }

  /** A connection opened after the switch takes one opened ahead too (a pool growing, or replacing one). */
  @Test
  void flip_warmConnectionKilled_newLogicalConnectionGoesOnOnNew() throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (SwitchEvents events = new SwitchEvents(db.database); Connection idle = DrainTest.connect(appUrl(db))) {
      db.flip(Target.NEW);
      assertThat(events.next().outcome()).isEqualTo(Outcome.COMPLETED);
      assertThat(killAppConnectionsOnNew(db)).isEqualTo(1);

      try (Connection later = DrainTest.connect(appUrl(db))) {
        DrainTest.insert(later, "from a connection opened after the flip");
        assertThat(DrainTest.sideOf(later)).isEqualTo(pair.newServer().port());
      }
      DrainTest.insert(idle, "after the flip");
    }
  }

  /**
   * The reviewer's D3: the connection the switch reserved on new for a session holding an advisory
   * lock dies before the session moves; someone else takes the lock on new. The session's next
   * transaction fails (the driver cannot take back a lock another may hold), saying the lock was lost.
   */
  @Test
  void flip_reservedConnectionHoldingAnAdvisoryLockDies_sessionIsToldTheLockWasLost() throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (SwitchEvents events = new SwitchEvents(db.database); Connection holder = DrainTest.connect(appUrl(db))) {
      query(holder, "SELECT pg_advisory_lock(42)::text");
      holder.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
      db.flip(Target.NEW);
      assertThat(events.next().outcome()).isEqualTo(Outcome.COMPLETED);
      try (Connection outsider = db.newDirect()) {
        assertThat(query(outsider, "SELECT pg_try_advisory_lock(42)")).as("reserved on new").isEqualTo("f");
        assertThat(killAppConnectionsOnNew(db)).as("the reservation").isEqualTo(1);
        assertThat(query(outsider, "SELECT pg_try_advisory_lock(42)")).as("free on new once it died").isEqualTo("t");

        assertThatThrownBy(() -> DrainTest.insert(holder, "believes it holds lock 42"))
            .isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("08003"))
            .hasMessageContaining("advisory lock 42")
            .hasMessageContaining("lost")
            .hasMessageContaining("new database")
            .hasMessageNotContaining("stay taken");
        assertThat(holder.isValid(1)).isFalse();
        assertThat(query(outsider, "SELECT pg_try_advisory_lock(42)")).as("still the outsider's").isEqualTo("t");
      }
    }
  }

  /** The application's URL, its connections to new named {@link #APP_NAME}, the switch's own going direct. */
  private static String appUrl(Replicated db) {
    String direct = pair.newServer().jdbcUrl(db.database);
    String named = direct + (direct.contains("?") ? "&" : "?") + "ApplicationName=" + APP_NAME;
    return db.urlVia(pair.oldServer().jdbcUrl(db.database), named, "cutover.new.direct-url=" + URLEncoder.encode(direct, StandardCharsets.UTF_8));
  }

  /** Terminates the application's connections on new and waits until they are gone; returns how many there were. */
  private static int killAppConnectionsOnNew(Replicated db) throws SQLException {
    int killed;
    try (Connection n = db.newDirect(); PreparedStatement ps = n.prepareStatement("SELECT count(pg_terminate_backend(pid))"
        + " FROM pg_stat_activity WHERE datname = current_database() AND application_name = ?")) {
      ps.setString(1, APP_NAME);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        killed = rs.getInt(1);
      }
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> {
      try (Connection n = db.newDirect(); PreparedStatement ps = n.prepareStatement("SELECT count(*)"
          + " FROM pg_stat_activity WHERE datname = current_database() AND application_name = ?")) {
        ps.setString(1, APP_NAME);
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          return rs.getInt(1) == 0;
        }
      }
    });
    return killed;
  }

  private static String query(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getString(1);
    }
  }
}
