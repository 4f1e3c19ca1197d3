package dev.cutover.replicator.capture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.cutover.driver.CutoverDriver;
import dev.cutover.driver.Outcome;
import dev.cutover.driver.SwitchEvent;
import dev.cutover.driver.SwitchEventQueue;
import dev.cutover.driver.internal.control.ControlSql;
import dev.cutover.flags.ManualFlag;
import dev.cutover.flags.Target;
import dev.cutover.replicator.CutoverUrl;
import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.apply.Applier;
import dev.cutover.replicator.apply.ApplyProcess;
import dev.cutover.replicator.replication.Reverse;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.replicator.verify.Verifier;
import dev.cutover.replicator.verify.VerifyReport;
import dev.cutover.testkit.PostgresPair;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The driver's switch under load, whatever replicates old to new: a HikariCP pool of 10 through
 * the Cutover driver with 8 {@link Writers}, as an application role ({@link #APP}) that neither
 * owns the tables nor may execute the replicator's functions (the control plane granted to it by
 * {@code start --app-role}), the flag a {@link ManualFlag}. The steps every engine goes through
 * ({@link #run}: a switch that aborts while apply is stopped, one that completes to new) and the
 * checks of the writers' invariants are here; what each engine does around them is its test's.
 */
final class SwitchUnderLoad implements AutoCloseable {
  static final Duration WAIT = Duration.ofSeconds(60);
  static final int WRITERS = 8;
  /** The application's role: DML and sequence grants, and the control plane granted by start (--app-role). */
  static final String APP = "app_writer";
  static final String SCHEMA = "CREATE TABLE booking (id serial PRIMARY KEY, writer int NOT NULL, seq int NOT NULL, UNIQUE (writer, seq));"
      + "CREATE TABLE payment (id bigserial PRIMARY KEY, booking int NOT NULL REFERENCES booking, amount numeric(10,2) NOT NULL);";

  final OwnedDatabase db;
  final ManualFlag flag;
  final Writers writers;
  private final SwitchEventQueue events;
  private final HikariDataSource pool;

  /**
   * The database of {@link #SCHEMA}, 100 bookings on old, and {@link #APP} on both sides; as on
   * many managed services, the owner's default privileges give {@link #APP} everything the owner
   * creates from now on, which the replicator's role creates in the control schema too.
   */
  static OwnedDatabase database(PostgresPair pair) throws SQLException {
    OwnedDatabase db = OwnedDatabase.create(pair, "switch", SCHEMA, "INSERT INTO booking (writer, seq) SELECT 0, g FROM generate_series(1, 100) g;");
    db.applicationRole(APP);
    for (Connection c : List.of(db.old(), db.nw())) {
      try (c) {
        for (String kind : Sql.majorVersion(c) >= 10 ? List.of("TABLES", "SEQUENCES", "FUNCTIONS", "SCHEMAS")
            : List.of("TABLES", "SEQUENCES", "FUNCTIONS")) {
          OwnedDatabase.execute(c, "ALTER DEFAULT PRIVILEGES GRANT ALL ON " + kind + " TO " + APP);
        }
      }
    }
    return db;
  }

  /**
   * On both sides {@link #APP} holds nothing in the control schema beyond the control plane's
   * functions: no privilege on its tables and sequences (the switch's rows, the lead secret,
   * replication positions), no other function, no CREATE, although default privileges gave it all.
   */
  private static void assertAppHoldsNothingOfTheReplicators(OwnedDatabase db) throws SQLException {
    try (Connection o = db.old(); Connection n = db.nw()) {
      for (Connection c : List.of(o, n)) {
        assertThat(OwnedDatabase.strings(c, "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace ns ON ns.oid = p.pronamespace"
            + " WHERE ns.nspname = 'cutover' AND has_function_privilege('" + APP + "', p.oid, 'EXECUTE')"
            + " AND p.oid <> ALL (" + ControlSql.grantedOids() + ")"))
            .as("functions of the control schema the application role may execute beyond the control plane").isEmpty();
        assertThat(OwnedDatabase.strings(c, "SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace"
            + " WHERE ns.nspname = 'cutover' AND (c.relkind = 'S' AND has_sequence_privilege('" + APP + "', c.oid, 'SELECT, USAGE, UPDATE')"
            + " OR c.relkind IN ('r', 'p', 'v') AND has_table_privilege('" + APP + "', c.oid,"
            + " 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER'))"))
            .as("tables and sequences of the control schema the application role may use").isEmpty();
        assertThat(OwnedDatabase.count(c, "SELECT count(*) FROM pg_namespace WHERE nspname = 'cutover'"
            + " AND has_schema_privilege('" + APP + "', oid, 'CREATE')")).as("CREATE on the control schema").isZero();
        assertThat(OwnedDatabase.count(c, "SELECT count(*) FROM pg_class WHERE relnamespace = 'cutover'::regnamespace"))
            .as("the control schema holds tables").isPositive();
      }
    }
  }

  /**
   * The switch to new and back, once {@code r}'s start has run, the same for every engine that has
   * a way back armed before the flip: the application role runs none of the replicator's
   * functions; the pool and its writers; a switch while apply is stopped aborts ({@link
   * #switchAbortsWhileApplyIsStopped}); then, with apply running and caught up, reverse is armed
   * (trigger capture on new), a switch completes to new ({@link #switchCompletesToNew}), the writes
   * made on new reach old, the flip back completes and loses nothing, and verify finds old and new
   * equal once the writers stopped.
   */
  static void switchAndBack(PostgresPair pair, OwnedDatabase db, Replicator r, String poolName) throws Exception {
    try (SwitchUnderLoad run = new SwitchUnderLoad(pair, db, poolName)) {
      run.switchAbortsWhileApplyIsStopped();
      try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
        r.awaitCaughtUp(WAIT);
        Reverse.Report reverse = r.reverse(new Reverse.Options(Duration.ZERO, WAIT));
        assertThat(reverse.mode()).isEqualTo("capture");
        assertAppHoldsNothingOfTheReplicators(db);
        Set<Long> acknowledged = run.switchCompletesToNew(apply);
        run.writers.awaitMore(200);
        Set<Long> onNew = new HashSet<>(run.writers.acknowledged);
        onNew.removeAll(acknowledged);
        run.flipBack(db, r, apply, onNew);
      }
    }
  }

  /** Once writes went to new ({@code onNew}): they reach old, the flip back completes, and nothing is lost either way. */
  private void flipBack(OwnedDatabase db, Replicator r, ApplyProcess apply, Set<Long> onNew) throws Exception {
    try (Connection o = db.old()) {
      await().atMost(WAIT).untilAsserted(() -> assertThat(writers.missingFrom(o, onNew))
          .as("writes made on new, carried to old by reverse capture").isEmpty());
    }
    flag.set(Target.OLD);
    SwitchEvent back = next();
    assertThat(back.outcome()).as(back.summary()).isEqualTo(Outcome.COMPLETED);
    Set<Long> beforeBack = Set.copyOf(writers.acknowledged);
    try (Connection o = db.old()) {
      assertThat(writers.missingFrom(o, beforeBack)).as("flip back: acknowledged on either side, missing on old").isEmpty();
    }
    writers.awaitMore(100);
    stopWritersKeepingTheirInvariants();
    r.awaitCaughtUp(WAIT);
    VerifyReport verify = r.verify(Verifier.Options.defaults());
    assertThat(verify.source()).isEqualTo("old");
    assertThat(verify.differences()).as("%s", verify.tables()).isZero();
    try (Connection o = db.old(); Connection n = db.nw()) {
      assertThat(writers.missingFrom(o, Set.copyOf(writers.acknowledged))).isEmpty();
      assertThat(writers.missingFrom(n, Set.copyOf(writers.acknowledged))).isEmpty();
    }
    for (Applier a : apply.appliers()) {
      assertThat(a.missing()).as(a.way().label()).isZero();
    }
  }

  /** The flag on old, the pool through the driver as {@link #APP}, and the writers, once 100 of their transactions committed. */
  private SwitchUnderLoad(PostgresPair pair, OwnedDatabase db, String poolName) {
    this.db = db;
    this.flag = ManualFlag.named(db.name + "-flag");
    flag.set(Target.OLD);
    String url = CutoverUrl.manualFlag(pair, db.name) + "&cutover.barrier.timeout=10s";
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(url);
    config.setUsername(APP);
    config.setMaximumPoolSize(10);
    config.setPoolName(poolName);
    this.events = new SwitchEventQueue(db.name);
    HikariDataSource ds = null;
    Writers w = null;
    try {
      ds = new HikariDataSource(config);
      w = new Writers(ds, poolName);
      w.awaitMore(100);
    } catch (RuntimeException | Error e) {
      try (SwitchEventQueue q = events; HikariDataSource p = ds; Writers stop = w) {
        throw e;
      } finally {
        CutoverDriver.shutdown(db.name);
      }
    }
    this.pool = ds;
    this.writers = w;
  }

  /**
   * Apply stopped: the switch cannot see its barrier arrive, aborts, and traffic stays on old
   * (I7), where the writers go on and old is not fenced.
   */
  private void switchAbortsWhileApplyIsStopped() throws Exception {
    flag.set(Target.NEW);
    SwitchEvent aborted = next();
    assertThat(aborted.outcome()).as(aborted.summary()).isEqualTo(Outcome.ABORTED);
    flag.set(Target.OLD);
    writers.awaitMore(100);
    try (Connection o = db.old()) {
      assertThat(OwnedDatabase.count(o, "SELECT count(*) FROM booking WHERE writer > 0")).isPositive();
      OwnedDatabase.execute(o, "INSERT INTO payment (booking, amount) VALUES (1, 0.01)"); // not fenced
    }
  }

  /**
   * With apply running and caught up: the switch to new completes (after the driver's own retries
   * where apply fell behind the writers by more than the barrier timeout), every write acknowledged
   * until then is on new at once (I1), and old is fenced (I2).
   *
   * @return the writes acknowledged when the switch had completed
   */
  private Set<Long> switchCompletesToNew(ApplyProcess apply) throws Exception {
    flag.set(Target.NEW);
    SwitchEvent there = next();
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (there.outcome() == Outcome.ABORTED && there.reason().contains("runs but lags") && System.nanoTime() < deadline) {
      // A host short of CPU (the suite runs four test JVMs on two cores) can leave apply more than
      // the barrier timeout behind the writers; the driver then aborts before the gate closes and
      // retries while the flag asks for new, which is what is checked from here on.
      System.out.println("[switch] apply behind the writers: " + state(apply));
      there = next();
    }
    assertThat(there.outcome()).as(there.summary() + "; " + state(apply)).isEqualTo(Outcome.COMPLETED);
    Set<Long> acknowledged = Set.copyOf(writers.acknowledged);
    try (Connection n = db.nw()) {
      assertThat(writers.missingFrom(n, acknowledged)).as("I1: acknowledged before the switch ended, missing on new").isEmpty();
    }
    try (Connection o = db.old()) {
      assertThatThrownBy(() -> OwnedDatabase.execute(o, "INSERT INTO payment (booking, amount) VALUES (1, 0.02)"))
          .as("I2: old is fenced").isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("25006"));
    }
    return acknowledged;
  }

  /** Each applier's batches, changes, the source time it reached and its last error: what a switch that waited on it saw. */
  private static String state(ApplyProcess apply) {
    StringBuilder s = new StringBuilder();
    for (Applier a : apply.appliers()) {
      s.append(a.way().label()).append(": ").append(a.batches()).append(" batch(es), ").append(a.changes()).append(" change(s), reached ")
          .append(a.appliedSourceTime()).append(" at ").append(Instant.now()).append(", last error ").append(a.lastError())
          .append("; ");
    }
    return s.toString();
  }

  /** Stops the writers; none of their transactions failed (I5, I7), each read its own write (I4), no id came twice (I6). */
  void stopWritersKeepingTheirInvariants() {
    writers.close();
    assertThat(writers.failures).as("I5 and I7: failed transactions").isEmpty();
    assertThat(writers.unread).as("I4: writes their writer could not read back").isEmpty();
    assertThat(writers.duplicateIds).as("I6: booking ids handed out twice").isEmpty();
  }

  SwitchEvent next() throws InterruptedException {
    SwitchEvent e = events.next(WAIT);
    assertThat(e).as("a switch event within %s", WAIT).isNotNull();
    System.out.println("[switch] " + e.summary());
    return e;
  }

  @Override
  public void close() {
    try (SwitchEventQueue q = events; HikariDataSource p = pool; Writers w = writers) {
      // closed in reverse order: the writers, the pool, the event queue
    } finally {
      CutoverDriver.shutdown(db.name);
    }
  }

  /**
   * Eight writers through the pool, each paced to one transaction every 40 ms (up to 200 tx/s in
   * all: on the suite's 2-core host, four test JVMs beside it, trigger capture's apply from 9.6
   * fell behind 400 tx/s for over a minute, which a switch rightly refuses and no test can wait
   * out): a booking and its payment per transaction, each read back by its writer at once.
   */
  static final class Writers implements AutoCloseable {
    final Set<Long> acknowledged = ConcurrentHashMap.newKeySet();
    final Set<Integer> ids = ConcurrentHashMap.newKeySet();
    final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
    final ConcurrentLinkedQueue<String> unread = new ConcurrentLinkedQueue<>();
    final ConcurrentLinkedQueue<Integer> duplicateIds = new ConcurrentLinkedQueue<>();
    final AtomicLong commits = new AtomicLong();
    private static final long PACE_NANOS = 40_000_000;
    private final Loops loops = new Loops();

    Writers(HikariDataSource pool, String name) {
      for (int w = 1; w <= WRITERS; w++) {
        int writer = w;
        loops.start(name + "-writer-" + w, () -> write(pool, writer));
      }
    }

    static long key(int writer, int seq) {
      return (long) writer << 32 | seq;
    }

    private void write(HikariDataSource pool, int writer) {
      long next = System.nanoTime();
      for (int seq = 0; loops.running(); seq++) {
        next = Math.max(next + PACE_NANOS, System.nanoTime()); // a writer held up does not burst to catch up
        java.util.concurrent.locks.LockSupport.parkNanos(next - System.nanoTime());
        try (Connection c = pool.getConnection()) {
          c.setAutoCommit(false);
          int id;
          try (PreparedStatement b = c.prepareStatement("INSERT INTO booking (writer, seq) VALUES (?, ?) RETURNING id")) {
            b.setInt(1, writer);
            b.setInt(2, seq);
            try (ResultSet rs = b.executeQuery()) {
              rs.next();
              id = rs.getInt(1);
            }
          }
          try (Statement s = c.createStatement()) {
            s.executeUpdate("INSERT INTO payment (booking, amount) VALUES (" + id + ", 12.50)");
          }
          c.commit();
          acknowledged.add(key(writer, seq));
          if (!ids.add(id)) {
            duplicateIds.add(id);
          }
          commits.incrementAndGet();
          c.setAutoCommit(true);
          if (OwnedDatabase.count(c, "SELECT count(*) FROM booking WHERE writer = ? AND seq = ?", writer, seq) != 1) {
            unread.add("writer " + writer + " seq " + seq);
          }
        } catch (SQLException e) {
          failures.add("writer " + writer + " seq " + seq + ": " + e.getSQLState() + " " + e.getMessage());
        }
      }
    }

    void awaitMore(long n) {
      long at = commits.get();
      await().atMost(WAIT).until(() -> commits.get() >= at + n);
    }

    /** Of {@code keys}, those {@code direct} does not hold. */
    Set<Long> missingFrom(Connection direct, Set<Long> keys) throws SQLException {
      Set<Long> missing = new HashSet<>(keys);
      try (Statement s = direct.createStatement(); ResultSet rs = s.executeQuery("SELECT writer, seq FROM booking WHERE writer > 0")) {
        while (rs.next()) {
          missing.remove(key(rs.getInt(1), rs.getInt(2)));
        }
      }
      return missing;
    }

    @Override
    public void close() {
      loops.close();
    }
  }
}
