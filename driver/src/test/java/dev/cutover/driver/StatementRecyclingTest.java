package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.cutover.driver.internal.jdbc.LogicalConnection;
import dev.cutover.driver.internal.switching.Session;
import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresPair;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A closed statement gives its state (parameters, settings, result-set state) back to its
 * connection for the next statement to reuse. What the application holds must not notice: a
 * closed statement or result set stays closed, whatever reuses its state, and statements open at
 * the same time never share one.
 */
@LeakCheckedPair
class StatementRecyclingTest {
  private static final String SCHEMA = "CREATE SCHEMA app; CREATE TABLE app.item (id serial PRIMARY KEY, name text)";
  private static PostgresPair pair;

  @BeforeAll
  static void setUp(PostgresPair p) {
    pair = p;
  }

  @Test
  void closedStatement_usedAfterTheNextOneTookItsState_failsAsClosed() throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (Connection c = DrainTest.connect(db.url())) {
      PreparedStatement first = c.prepareStatement("SELECT ?::int");
      first.setInt(1, 1);
      first.close();
      try (PreparedStatement second = c.prepareStatement("SELECT ?::int")) {
        second.setInt(1, 2);

        assertThat(first.isClosed()).isTrue();
        assertThatThrownBy(first::executeQuery).isInstanceOf(SQLException.class).hasMessageContaining("closed");
        assertThatThrownBy(() -> first.setInt(1, 3)).isInstanceOf(SQLException.class).hasMessageContaining("closed");
        assertThatThrownBy(first::getConnection).isInstanceOf(SQLException.class).hasMessageContaining("closed");
        first.close(); // a second close does nothing, as in JDBC
        assertThat(second.isClosed()).isFalse();
        assertThat(single(second)).isEqualTo(2);
      }
    }
  }

  @Test
  void closedResultSet_usedAfterTheNextResultsTookItsState_failsAsClosed() throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (Connection c = DrainTest.connect(db.url()); PreparedStatement ps = c.prepareStatement("SELECT ?::int")) {
      ps.setInt(1, 1);
      ResultSet first = ps.executeQuery();
      assertThat(first.next()).isTrue();
      first.close();
      ps.setInt(1, 2);
      try (ResultSet second = ps.executeQuery()) {
        assertThat(first.isClosed()).isTrue();
        assertThatThrownBy(first::next).isInstanceOf(SQLException.class).hasMessageContaining("closed");
        assertThatThrownBy(() -> first.getInt(1)).isInstanceOf(SQLException.class).hasMessageContaining("closed");
        assertThatThrownBy(first::getStatement).isInstanceOf(SQLException.class).hasMessageContaining("closed");
        assertThat(second.isClosed()).isFalse();
        assertThat(second.next()).isTrue();
        assertThat(second.getInt(1)).isEqualTo(2);
        assertThat(second.getStatement()).isSameAs(ps);
      }
    }
  }

  @Test
  void statementsOpenTogether_keepTheirOwnParametersAndResults() throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (Connection c = DrainTest.connect(db.url())) {
      c.prepareStatement("SELECT 0").close(); // leaves a state to reuse
      try (PreparedStatement a = c.prepareStatement("SELECT ?::int");
          PreparedStatement b = c.prepareStatement("SELECT ?::int * 10")) {
        a.setInt(1, 1);
        b.setInt(1, 2);
        try (ResultSet ra = a.executeQuery(); ResultSet rb = b.executeQuery()) {
          assertThat(ra.next()).isTrue();
          assertThat(rb.next()).isTrue();
          assertThat(ra.getInt(1)).isEqualTo(1);
          assertThat(rb.getInt(1)).isEqualTo(20);
          assertThat(ra.getStatement()).isSameAs(a);
          assertThat(rb.getStatement()).isSameAs(b);
        }
        a.close();
        try (PreparedStatement d = c.prepareStatement("SELECT ?::int * 100")) { // takes a's state while b is open
          d.setInt(1, 3);
          assertThat(single(d)).isEqualTo(300);
          assertThat(single(b)).isEqualTo(20);
        }
      }
    }
  }

  /**
   * What a closed statement recorded (parameters, max rows, a pending batch) must not reach the
   * statement that reuses its state: it would be replayed when that one is recreated on the other
   * side after a switch.
   */
  @Test
  void statementPreparedAfterAnotherClosed_startsFresh_evenWhenRecreatedAfterASwitch() throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (SwitchEvents events = new SwitchEvents(db.database); Connection c = DrainTest.connect(db.url())) {
      PreparedStatement first = c.prepareStatement("INSERT INTO app.item (name) VALUES (?)");
      first.setString(1, "batched");
      first.addBatch();
      first.setString(1, "set");
      first.setMaxRows(1);
      first.setQueryTimeout(1);
      first.close();
      try (PreparedStatement second = c.prepareStatement("SELECT g FROM generate_series(1, 3) g")) {
        db.flip(Target.NEW);
        assertThat(events.next().outcome()).isEqualTo(Outcome.COMPLETED);

        List<Integer> rows = new ArrayList<>();
        try (ResultSet rs = second.executeQuery()) {
          while (rs.next()) {
            rows.add(rs.getInt(1));
          }
        }
        assertThat(rows).containsExactly(1, 2, 3);
        assertThat(second.getMaxRows()).isZero();
        assertThat(second.getQueryTimeout()).isZero();
      }
    }
  }

  /**
   * JDBC lets another thread close a statement while it executes. The execution must still end on
   * its connection, or the connection reads as busy and a switch's drain waits for it in vain.
   */
  @Test
  void statementClosedByAnotherThreadWhileItRuns_itsConnectionReadsIdleAfterwards() throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (Connection c = DrainTest.connect(db.url()); Connection watcher = DrainTest.connect(db.url())) {
      int pid;
      try (PreparedStatement ps = c.prepareStatement("SELECT pg_backend_pid()")) {
        pid = single(ps);
      }
      Statement running = c.createStatement();
      CompletableFuture<Void> query = CompletableFuture.runAsync(() -> {
        try {
          running.execute("SELECT pg_sleep(60)");
        } catch (SQLException e) {
          throw new CompletionException(e);
        }
      });
      await().atMost(Duration.ofSeconds(30)).until(() -> active(watcher, pid));
      CompletableFuture<Void> closing = CompletableFuture.runAsync(() -> {
        try {
          running.close();
        } catch (SQLException e) {
          throw new CompletionException(e);
        }
      });
      await().atMost(Duration.ofSeconds(30)).until(running::isClosed);
      try (Statement s = watcher.createStatement()) {
        s.execute("SELECT pg_cancel_backend(" + pid + ")");
      }

      assertThatThrownBy(() -> query.get(30, TimeUnit.SECONDS)).hasRootCauseInstanceOf(SQLException.class);
      closing.get(30, TimeUnit.SECONDS);
      assertThat(((LogicalConnection) c).activity()).as("activity after the statement ended").isEqualTo(Session.IDLE);
    }
  }

  private static boolean active(Connection watcher, int pid) throws SQLException {
    try (Statement s = watcher.createStatement();
        ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_stat_activity WHERE pid = " + pid
            + " AND state = 'active' AND query LIKE '%pg_sleep(60)%'")) {
      return rs.next() && rs.getInt(1) == 1;
    }
  }

  private static int single(PreparedStatement ps) throws SQLException {
    try (ResultSet rs = ps.executeQuery()) {
      assertThat(rs.next()).isTrue();
      return rs.getInt(1);
    }
  }
}
