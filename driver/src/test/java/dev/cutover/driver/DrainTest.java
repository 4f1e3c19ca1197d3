package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.cutover.driver.Outcome;
import dev.cutover.driver.SwitchEvent;
import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresPair;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;
import org.postgresql.largeobject.LargeObject;
import org.postgresql.largeobject.LargeObjectManager;

/**
 * Transactions in flight when the flag flips (those PgJDBC's own API opened included): finished on
 * old if they end in time, rolled back if not.
 */
@LeakCheckedPair
class DrainTest {
  private static final String SCHEMA = "CREATE TABLE note (id serial PRIMARY KEY, body text NOT NULL)";

  @Test
  void transactionOpenAcrossFlip_commitsOnOld_andReachesNewBeforeAnythingRunsThere(PostgresPair pair)
      throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection straddler = connect(db.url());
        Connection later = connect(db.url())) {
      straddler.setAutoCommit(false);
      insert(straddler, "straddler-1");

      db.flip(Target.NEW);
      await().atMost(Duration.ofSeconds(10)).until(() -> (Boolean) RouterBean.attribute(db.database, "Holding"));
      CompletableFuture<Integer> seenByLater = CompletableFuture.supplyAsync(() -> {
        try (Statement s = later.createStatement();
            ResultSet rs = s.executeQuery("SELECT count(*) FROM note WHERE body LIKE 'straddler%'")) {
          rs.next();
          return rs.getInt(1);
        } catch (SQLException e) {
          throw new IllegalStateException(e);
        }
      });
      insert(straddler, "straddler-2");
      straddler.commit();

      SwitchEvent event = events.next();
      assertThat(event.outcome()).as(event.summary()).isEqualTo(Outcome.COMPLETED);
      assertThat(event.rolledBack()).isZero();
      assertThat(seenByLater.get(30, TimeUnit.SECONDS))
          .as("the transaction that waited at the gate ran on new after both straddler rows arrived")
          .isEqualTo(2);
      assertThat(sideOf(later)).isEqualTo(db.pair.newServer().port());
    }
  }

  /**
   * A metadata query with autocommit off while the gate is closed waits there as a statement does,
   * then runs on new: it went to old at once, PgJDBC's own {@code BEGIN} opened a transaction there
   * that the drain then had to wait for (or roll back), and the session stayed on old with it.
   */
  @Test
  void metadataQueryWithAutocommitOff_atTheClosedGate_waitsThere_andRunsOnNew(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection straddler = connect(db.url());
        Connection reader = connect(db.url())) {
      reader.setAutoCommit(false);
      try (Statement s = reader.createStatement()) {
        s.execute("SELECT 1");
      }
      reader.commit();
      straddler.setAutoCommit(false);
      insert(straddler, "straddler");

      db.flip(Target.NEW);
      await().atMost(Duration.ofSeconds(10)).until(() -> (Boolean) RouterBean.attribute(db.database, "Holding"));
      Thread[] waiting = new Thread[1];
      CompletableFuture<Integer> side = CompletableFuture.supplyAsync(() -> {
        waiting[0] = Thread.currentThread();
        try (ResultSet tables = reader.getMetaData().getTables(null, null, "note", null)) {
          tables.next();
          return sideOf(reader);
        } catch (SQLException e) {
          throw new IllegalStateException(e);
        }
      });
      await("getTables waiting at the closed gate").atMost(Duration.ofSeconds(10)).until(() -> waiting[0] != null
          && java.util.Arrays.stream(waiting[0].getStackTrace()).anyMatch(f -> f.getClassName().endsWith("switching.Gate")));
      straddler.commit();

      SwitchEvent event = events.next();
      assertThat(event.outcome()).as(event.summary()).isEqualTo(Outcome.COMPLETED);
      assertThat(event.rolledBack()).isZero();
      assertThat(side.get(30, TimeUnit.SECONDS)).as("the metadata query's transaction, on new")
          .isEqualTo(pair.newServer().port());
      reader.commit();
    }
  }

  /**
   * A connection the application aborts while one of its calls waits at the closed gate: the call
   * fails as on any closed connection once the gate opens, not with a failure to read the session's
   * state on old, which blamed a database for what the application did.
   */
  @Test
  void connectionAbortedWhileWaitingAtTheGate_failsAsClosed(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection straddler = connect(db.url());
        Connection waiter = connect(db.url())) {
      straddler.setAutoCommit(false);
      insert(straddler, "straddler");
      db.flip(Target.NEW);
      await().atMost(Duration.ofSeconds(10)).until(() -> (Boolean) RouterBean.attribute(db.database, "Holding"));
      Thread[] waiting = new Thread[1];
      CompletableFuture<SQLException> call = CompletableFuture.supplyAsync(() -> {
        waiting[0] = Thread.currentThread();
        try {
          insert(waiter, "waiter");
          return null;
        } catch (SQLException e) {
          return e;
        }
      });
      await().atMost(Duration.ofSeconds(10)).until(() -> waiting[0] != null
          && java.util.Arrays.stream(waiting[0].getStackTrace()).anyMatch(f -> f.getClassName().endsWith("switching.Gate")));
      waiter.abort(Runnable::run);
      straddler.commit();
      assertThat(events.next().outcome()).isEqualTo(Outcome.COMPLETED);
      SQLException failed = call.get(30, TimeUnit.SECONDS);
      assertThat((Throwable) failed).as("the call failed").isNotNull();
      assertThat(failed.getMessage()).isEqualTo("cutover: this connection is closed");
      assertThat(failed.getSQLState()).isEqualTo("08003");
    }
  }

  @Test
  void transactionOutlivingDrainTimeout_getsRetryable40001_andLeavesNothingBehind(PostgresPair pair)
      throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection slow = connect(db.url("cutover.drain.timeout=300ms"))) {
      slow.setAutoCommit(false);
      insert(slow, "doomed");

      db.flip(Target.NEW);
      SwitchEvent event = events.next();
      assertThat(event.outcome()).as(event.summary()).isEqualTo(Outcome.COMPLETED);
      assertThat(event.rolledBack()).isEqualTo(1);

      assertThatThrownBy(() -> insert(slow, "doomed-2"))
          .isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("40001"))
          .hasMessageContaining("rolled back")
          .hasMessageContaining("cutover.drain.timeout");
      slow.rollback();
      insert(slow, "retried");
      slow.commit();

      db.awaitReplicated();
      for (Connection direct : new Connection[] {db.oldDirect(), db.newDirect()}) {
        try (direct; Statement s = direct.createStatement();
            ResultSet rs = s.executeQuery("SELECT count(*) FROM note WHERE body LIKE 'doomed%'")) {
          rs.next();
          assertThat(rs.getInt(1)).as("rolled-back rows on " + direct.getMetaData().getURL()).isZero();
        }
      }
      try (Connection n = db.newDirect(); Statement s = n.createStatement();
          ResultSet rs = s.executeQuery("SELECT count(*) FROM note WHERE body = 'retried'")) {
        rs.next();
        assertThat(rs.getInt(1)).isEqualTo(1);
      }
    }
  }

  /**
   * A transaction PgJDBC's large-object API opened behind the driver's back (its fastpath sends
   * the BEGIN; no statement went through the driver) is in flight all the same: the switch waits
   * for it, and it commits on old whole, the large object with the row that names it.
   */
  @Test
  void largeObjectTransactionOpenAcrossFlip_isWaitedFor_andCommitsWholeOnOld(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (SwitchEvents events = new SwitchEvents(db.database); Connection c = connect(db.url())) {
      c.setAutoCommit(false);
      long oid = writeLargeObject(c, "payload");

      db.flip(Target.NEW);
      await().atMost(Duration.ofSeconds(10)).until(() -> (Boolean) RouterBean.attribute(db.database, "Holding"));
      insert(c, "lo " + oid);
      assertThat(sideOf(c)).as("the transaction stays where its large object is").isEqualTo(pair.oldServer().port());
      c.commit();

      SwitchEvent event = events.next();
      assertThat(event.outcome()).as(event.summary()).isEqualTo(Outcome.COMPLETED);
      assertThat(event.rolledBack()).isZero();
      try (Connection old = db.oldDirect()) {
        assertThat(largeObjects(old, oid)).as("the large object, committed on old with its row").isEqualTo(1);
      }
      db.awaitReplicated();
      try (Connection n = db.newDirect(); Statement s = n.createStatement();
          ResultSet rs = s.executeQuery("SELECT count(*) FROM note WHERE body = 'lo " + oid + "'")) {
        rs.next();
        assertThat(rs.getInt(1)).as("the row reached new through replication").isEqualTo(1);
      }
    }
  }

  /**
   * The reviewer's S2: a large object written with autocommit off, the flag flips, the row that
   * names it is inserted and committed. The transaction outlives the drain timeout, so the switch
   * rolls it back: the insert and the commit fail with 40001 and neither the large object nor the
   * row exists anywhere (it used to move, leaving the large object behind on a connection it
   * closed, and commit the row alone on new).
   */
  @Test
  void largeObjectTransactionOutlivingDrainTimeout_getsRetryable40001_andLeavesNothingBehind(PostgresPair pair)
      throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection c = connect(db.url("cutover.drain.timeout=300ms"))) {
      c.setAutoCommit(false);
      long oid = writeLargeObject(c, "payload");

      db.flip(Target.NEW);
      SwitchEvent event = events.next();
      assertThat(event.outcome()).as(event.summary()).isEqualTo(Outcome.COMPLETED);

      assertThatThrownBy(() -> insert(c, "lo " + oid))
          .isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("40001"))
          .hasMessageContaining("cutover.drain.timeout");
      assertThatThrownBy(() -> writeLargeObject(c, "more"))
          .as("the rest of the transaction does not go on on new either")
          .isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("40001"));
      assertThatThrownBy(c::commit)
          .isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("40001"));
      assertThat(event.rolledBack()).isEqualTo(1);
      c.rollback();

      for (Connection direct : new Connection[] {db.oldDirect(), db.newDirect()}) {
        try (direct; Statement s = direct.createStatement();
            ResultSet rs = s.executeQuery("SELECT count(*) FROM note WHERE body LIKE 'lo %'")) {
          rs.next();
          assertThat(rs.getInt(1)).as("rows on " + direct.getMetaData().getURL()).isZero();
          assertThat(largeObjects(direct, oid)).as("large object on " + direct.getMetaData().getURL()).isZero();
        }
      }
    }
  }

  /** Creates and writes a large object the way PgJDBC documents it (autocommit off); returns its oid. */
  static long writeLargeObject(Connection c, String text) throws SQLException {
    LargeObjectManager m = c.unwrap(PGConnection.class).getLargeObjectAPI();
    long oid = m.createLO(LargeObjectManager.READWRITE);
    try (LargeObject lo = m.open(oid, LargeObjectManager.WRITE)) {
      lo.write(text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
    return oid;
  }

  static int largeObjects(Connection direct, long oid) throws SQLException {
    try (PreparedStatement ps = direct.prepareStatement("SELECT count(*) FROM pg_largeobject_metadata WHERE oid = ?")) {
      ps.setLong(1, oid);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getInt(1);
      }
    }
  }

  static Connection connect(String url) throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", "postgres");
    return DriverManager.getConnection(url, p);
  }

  static void insert(Connection c, String body) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("INSERT INTO note (body) VALUES (?)")) {
      ps.setString(1, body);
      ps.executeUpdate();
    }
  }

  /** The port of the server a logical connection's current transaction runs on. */
  static int sideOf(Connection c) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT current_setting('port')::int")) {
      rs.next();
      return rs.getInt(1);
    }
  }
}
