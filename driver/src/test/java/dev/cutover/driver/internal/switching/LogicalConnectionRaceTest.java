package dev.cutover.driver.internal.switching;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.cutover.driver.LeakCheckedPair;
import dev.cutover.driver.internal.jdbc.Connections;
import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresServer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Begin against doom, interleaved deterministically: a {@link Routing} stand-in runs the switch's
 * steps (close the gate, doom every busy session) inside the route read that {@code begin()} makes
 * right after it announced the transaction, which is the window a real switch thread can hit. The
 * same stand-in dooms sessions directly and refuses connections, for what follows a doom: when the
 * doomed transaction is over, the session must recover, not keep failing with its doom.
 */
@LeakCheckedPair
class LogicalConnectionRaceTest {

  @Test
  void begin_doomedBeforeItWaitsAtTheGate_runsOnARecoveredSession(PostgresPair pair) throws Exception {
    SwitchingStandIn routing = new SwitchingStandIn(pair.oldServer());
    ExecutorService application = Executors.newSingleThreadExecutor();
    try (Connection app = Connections.open(routing)) {
      Statement statement = app.createStatement();
      statement.execute("SET application_name = 'race'");
      int before = pid(statement);
      Gate gate = new Gate();
      routing.switchOnNextRoute(gate);

      Future<String> query = application.submit(() -> text(statement,
          "SELECT pg_catalog.current_setting('application_name') || ' ' || pg_catalog.pg_backend_pid()"));
      await().atMost(Duration.ofSeconds(10)).until(() -> gate.waits().getTotalCount() == 1);
      routing.route = new Route(Target.OLD, null);
      gate.open();

      String[] result = query.get(10, TimeUnit.SECONDS).split(" ");
      assertThat(result[0]).isEqualTo("race");
      assertThat(Integer.parseInt(result[1])).isNotEqualTo(before);
      assertThat(routing.doomed).isEqualTo(before);
    } finally {
      application.shutdownNow();
    }
  }

  /**
   * Torture finding B8: a straggler doomed by a switch rolls back at a moment the serving side
   * cannot be reached (its server restarting), so the session cannot recover then. A pool's next
   * uses of the connection (setAutoCommit, prepareStatement, execute, commit) must recover it once
   * the side answers, not fail with the old doom's 40001 until the pool happens to validate it.
   */
  @Test
  void rollback_whileTheServingSideRefusesConnections_laterTransactionsRecoverTheSession(PostgresPair pair)
      throws Exception {
    SwitchingStandIn routing = new SwitchingStandIn(pair.oldServer());
    try (Connection app = Connections.open(routing)) {
      app.setAutoCommit(false);
      try (Statement s = app.createStatement()) {
        s.execute("SELECT 1");
      }
      routing.refusing = true;
      assertThat(routing.session.doom("switch under test", TimeUnit.SECONDS.toNanos(5))).isPositive();

      assertThatThrownBy(() -> app.prepareStatement("SELECT 2"))
          .isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("40001"));
      List<String> rollbackStates = new ArrayList<>();
      for (int i = 0; i < 2; i++) { // the application's rollback, then the pool's on close
        try {
          app.rollback();
        } catch (SQLException e) {
          rollbackStates.add(e.getSQLState());
        }
      }
      routing.refusing = false;

      for (int i = 0; i < 5; i++) {
        app.setAutoCommit(false);
        try (PreparedStatement ps = app.prepareStatement("SELECT ?::int")) {
          ps.setInt(1, i);
          try (ResultSet rs = ps.executeQuery()) {
            rs.next();
            assertThat(rs.getInt(1)).isEqualTo(i);
          }
        }
        app.commit();
        app.setAutoCommit(true);
      }
      assertThat(rollbackStates).as("the reason the session could not recover, not the doom")
          .containsExactly("08001", "08001");
    }
  }

  /**
   * A statement in autocommit doomed while it runs (a slow statement past the drain timeout): the
   * statement is its own transaction, so it fails with 40001 and the next ones, on new statement
   * objects as a pool's users create them, run on a recovered session without a rollback.
   */
  @Test
  void autocommitStatement_doomedWhileItRuns_nextStatementsRunWithoutARollback(PostgresPair pair) throws Exception {
    SwitchingStandIn routing = new SwitchingStandIn(pair.oldServer());
    ExecutorService application = Executors.newSingleThreadExecutor();
    try (Connection app = Connections.open(routing)) {
      int before;
      try (Statement s = app.createStatement()) {
        before = pid(s);
      }
      Future<String> slow = application.submit(() -> {
        try (Statement s = app.createStatement()) {
          return text(s, "SELECT pg_catalog.pg_sleep(30)::text");
        }
      });
      try (Connection watch = pair.oldServer().connect(); Statement w = watch.createStatement()) {
        await().atMost(Duration.ofSeconds(10)).until(() -> "active".equals(text(w,
            "SELECT coalesce((SELECT state FROM pg_catalog.pg_stat_activity WHERE pid = " + before + "), 'none')")));
      }
      assertThat(routing.session.doom("switch under test", TimeUnit.SECONDS.toNanos(5))).isPositive();
      assertThatThrownBy(() -> slow.get(10, TimeUnit.SECONDS))
          .hasCauseInstanceOf(SQLException.class)
          .satisfies(e -> assertThat(((SQLException) e.getCause()).getSQLState()).isEqualTo("40001"));

      for (int i = 0; i < 5; i++) {
        try (Statement s = app.createStatement()) {
          assertThat(pid(s)).isNotEqualTo(before);
        }
      }
    } finally {
      application.shutdownNow();
    }
  }

  /**
   * Torture finding B8, SQL boundaries: a transaction begun with SQL {@code BEGIN} on an autocommit
   * connection (as HikariCP users write it) is doomed. Its next plain statement fails with 40001 and
   * is not run on its own in autocommit; the application's SQL {@code ROLLBACK} ends it and succeeds;
   * every later BEGIN/INSERT/COMMIT on the same connection runs (no 40001 storm until the pool evicts it).
   */
  @Test
  void sqlRollback_afterTheSwitchDoomedATransactionBegunInSql_endsItAndLaterTransactionsRun(PostgresPair pair)
      throws Exception {
    SwitchingStandIn routing = new SwitchingStandIn(pair.oldServer());
    createTable(pair, "b8_rollback");
    try (Connection app = Connections.open(routing)) {
      try (Statement s = app.createStatement()) {
        s.execute("BEGIN");
        s.execute("INSERT INTO b8_rollback VALUES ('doomed')");
        assertThat(routing.session.doom("switch under test", TimeUnit.SECONDS.toNanos(5))).isPositive();
        for (int i = 0; i < 2; i++) { // the first failure does not end the transaction
          assertFailsWithDoom(() -> s.execute("INSERT INTO b8_rollback VALUES ('after the doom')"));
        }
        s.execute(" /* the application gives up */ Rollback Work;");
      }
      for (int i = 0; i < 5; i++) { // each a new borrower of the pooled connection
        try (Statement s = app.createStatement();
            PreparedStatement insert = app.prepareStatement("INSERT INTO b8_rollback VALUES (?)")) {
          s.execute("BEGIN");
          insert.setString(1, "cycle " + i);
          insert.executeUpdate();
          s.execute("COMMIT");
        }
      }
    }
    assertThat(rows(pair, "b8_rollback")).containsExactlyInAnyOrder(
        "cycle 0", "cycle 1", "cycle 2", "cycle 3", "cycle 4");
  }

  /**
   * A doomed transaction begun in SQL that the application commits in SQL (a prepared COMMIT here):
   * nothing was committed, so the COMMIT fails with 40001, and the transaction is over: the next
   * BEGIN runs on a recovered session.
   */
  @Test
  void sqlCommit_afterTheSwitchDoomedATransactionBegunInSql_fails40001AndTheNextBeginRuns(PostgresPair pair)
      throws Exception {
    SwitchingStandIn routing = new SwitchingStandIn(pair.oldServer());
    createTable(pair, "b8_commit");
    try (Connection app = Connections.open(routing)) {
      try (Statement s = app.createStatement(); PreparedStatement commit = app.prepareStatement("commit")) {
        s.execute("begin");
        s.execute("INSERT INTO b8_commit VALUES ('doomed')");
        assertThat(routing.session.doom("switch under test", TimeUnit.SECONDS.toNanos(5))).isPositive();
        assertFailsWithDoom(commit::execute);
      }
      for (int i = 0; i < 3; i++) {
        try (Statement s = app.createStatement()) {
          s.execute("START TRANSACTION ISOLATION LEVEL READ COMMITTED");
          s.execute("INSERT INTO b8_commit VALUES ('cycle " + i + "')");
          s.execute("END");
        }
      }
    }
    assertThat(rows(pair, "b8_commit")).containsExactlyInAnyOrder("cycle 0", "cycle 1", "cycle 2");
  }

  /**
   * A doomed transaction begun in SQL whose application gave up without a rollback (its statement
   * failed, the pool took the connection back as it is, autocommit being on): the next borrower's
   * BEGIN starts a new transaction on a recovered session; statements other than a transaction's
   * end before that keep failing with 40001 and never run in autocommit.
   */
  @Test
  void sqlBegin_afterTheSwitchDoomedATransactionBegunInSql_startsANewTransaction(PostgresPair pair)
      throws Exception {
    SwitchingStandIn routing = new SwitchingStandIn(pair.oldServer());
    createTable(pair, "b8_begin");
    try (Connection app = Connections.open(routing)) {
      try (Statement s = app.createStatement()) {
        s.execute("BEGIN");
        s.execute("INSERT INTO b8_begin VALUES ('doomed')");
        assertThat(routing.session.doom("switch under test", TimeUnit.SECONDS.toNanos(5))).isPositive();
      }
      for (int i = 0; i < 2; i++) {
        try (PreparedStatement insert = app.prepareStatement("INSERT INTO b8_begin VALUES ('not atomic')")) {
          assertFailsWithDoom(insert::executeUpdate);
        }
      }
      try (Statement s = app.createStatement()) { // created on a session whose transaction is doomed
        assertFailsWithDoom(() -> s.executeUpdate("INSERT INTO b8_begin VALUES ('not atomic')"));
        assertThat(app.getAutoCommit()).isTrue();
      }
      for (int i = 0; i < 3; i++) {
        try (Statement s = app.createStatement()) {
          s.execute("-- the next borrower\n  begin isolation level repeatable read");
          s.execute("INSERT INTO b8_begin VALUES ('cycle " + i + "')");
          s.execute("COMMIT");
        }
      }
    }
    assertThat(rows(pair, "b8_begin")).containsExactlyInAnyOrder("cycle 0", "cycle 1", "cycle 2");
  }

  private interface Call {
    void run() throws SQLException;
  }

  private static void assertFailsWithDoom(Call call) {
    assertThatThrownBy(call::run)
        .isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("40001"));
  }

  private static void createTable(PostgresPair pair, String table) throws SQLException {
    try (Connection c = pair.oldServer().connect(); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE " + table + " (v text NOT NULL)");
    }
  }

  private static List<String> rows(PostgresPair pair, String table) throws SQLException {
    List<String> rows = new ArrayList<>();
    try (Connection c = pair.oldServer().connect(); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT v FROM " + table)) {
      while (rs.next()) {
        rows.add(rs.getString(1));
      }
    }
    return rows;
  }

  private static int pid(Statement s) throws SQLException {
    return Integer.parseInt(text(s, "SELECT pg_catalog.pg_backend_pid()"));
  }

  private static String text(Statement s, String sql) throws SQLException {
    try (ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getString(1);
    }
  }

  /** A router serving one server whose next route read, once armed, is where a switch cuts in. */
  private static final class SwitchingStandIn implements Routing {
    private final PostgresServer server;
    volatile Route route = new Route(Target.OLD, null);
    private volatile Gate switchGate;
    volatile Session session;
    /** Whether new connections are refused, as by a server that is restarting. */
    volatile boolean refusing;
    volatile int doomed;

    SwitchingStandIn(PostgresServer server) {
      this.server = server;
    }

    /** The next route read closes {@code gate} and dooms the busy session, as a switch does, before it returns. */
    void switchOnNextRoute(Gate gate) {
      switchGate = gate;
    }

    @Override
    public Route route() {
      Gate gate = switchGate;
      if (gate != null) {
        switchGate = null;
        route = new Route(Target.OLD, gate);
        doomed = session.doom("switch under test", TimeUnit.SECONDS.toNanos(5));
      }
      return route;
    }

    @Override
    public Duration gateMaxPause() {
      return Duration.ofSeconds(10);
    }

    @Override
    public Duration answerTimeout() {
      return Duration.ofSeconds(10);
    }

    @Override
    public String service() {
      return "race";
    }

    @Override
    public boolean pooled(Target side) {
      return false;
    }

    @Override
    public List<String> customSettings() {
      return null;
    }

    @Override
    public Connection connect(Target side) throws SQLException {
      if (refusing) {
        throw new SQLException("the stand-in refuses connections", "08001");
      }
      return server.connect();
    }

    @Override
    public Handover.Acquired acquire(Session s, Target side) throws SQLException {
      return new Handover.Acquired(connect(side));
    }

    @Override
    public void stay(Session s) {}

    @Override
    public void register(Session s) {
      session = s;
    }

    @Override
    public void unregister(Session s) {}
  }
}
