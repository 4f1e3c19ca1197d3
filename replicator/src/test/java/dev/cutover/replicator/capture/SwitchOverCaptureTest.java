package dev.cutover.replicator.capture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.cutover.driver.CutoverDriver;
import dev.cutover.driver.SwitchEventQueue;
import dev.cutover.driver.Outcome;
import dev.cutover.driver.SwitchEvent;
import dev.cutover.flags.ManualFlag;
import dev.cutover.flags.Target;
import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.apply.Applier;
import dev.cutover.replicator.apply.ApplyProcess;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.replication.Reverse;
import dev.cutover.replicator.verify.Verifier;
import dev.cutover.replicator.verify.VerifyReport;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.PostgresVersions;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The driver's switch, unchanged, over trigger capture from 9.6: a HikariCP pool of 10 through
 * the Cutover driver with 8 writers, as an application role that neither owns the tables nor may
 * execute the replicator's functions (the control plane granted to it by {@code start --app-role});
 * the replicator and its apply run as the role that owns the tables. A switch while apply is
 * stopped aborts and leaves everything on old (I7); with apply running it completes to new (I1:
 * every acknowledged write is there at once, I2: old is fenced, I4: each writer reads its own
 * write, I5: nothing fails after the flip, I6: no key handed out twice); reverse capture, armed
 * before the flip, carries new's writes back, and the flip back to old loses nothing.
 */
@ExtendWith({PostgresPairExtension.class, NoLeakedConnections.class})
@PostgresVersions(oldMajor = 9, newMajor = 17)
class SwitchOverCaptureTest {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final int WRITERS = 8;
  /** The application's role: DML and sequence grants, and the control plane granted by start (--app-role). */
  private static final String APP = "app_writer";
  static final String SCHEMA = "CREATE TABLE booking (id serial PRIMARY KEY, writer int NOT NULL, seq int NOT NULL, UNIQUE (writer, seq));"
      + "CREATE TABLE payment (id bigserial PRIMARY KEY, booking int NOT NULL REFERENCES booking, amount numeric(10,2) NOT NULL);";

  @Test
  void switchAndBack_hikariPoolOfEightWriters_keepsEveryInvariant(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "switch", SCHEMA, "INSERT INTO booking (writer, seq) SELECT 0, g FROM generate_series(1, 100) g;");
    db.applicationRole(APP);
    Replicator r = db.replicator(List.of(APP));
    r.start(TriggerCaptureFlow.options(), new CopyProgress(), CopyListener.NONE);
    try (Connection o = db.old(); Connection n = db.nw()) {
      for (Connection c : List.of(o, n)) {
        assertThat(OwnedDatabase.count(c, "SELECT count(*) FROM pg_proc p JOIN pg_namespace ns ON ns.oid = p.pronamespace"
            + " WHERE ns.nspname = 'cutover' AND has_function_privilege('" + APP + "', p.oid, 'EXECUTE')"
            + " AND p.proname IN ('capture', 'capture_table', 'lower_fence', 'request_slot_at_switch', 'grant_control_plane')"))
            .as("the application role may execute none of the replicator's own functions").isZero();
      }
    }
    ManualFlag flag = ManualFlag.named(db.name + "-flag");
    flag.set(Target.OLD);
    String url = "jdbc:cutover:postgresql://" + pair.oldServer().host() + ":" + pair.oldServer().port() + "/" + db.name
        + "?cutover.new.url=" + URLEncoder.encode(pair.newServer().jdbcUrl(db.name), StandardCharsets.UTF_8)
        + "&cutover.flag.provider=manual&cutover.flag.key=" + db.name + "-flag&cutover.service=" + db.name
        + "&cutover.barrier.timeout=10s";
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(url);
    config.setUsername(APP);
    config.setMaximumPoolSize(10);
    config.setPoolName("capture-switch");
    try (SwitchEventQueue events = new SwitchEventQueue(db.name); HikariDataSource pool = new HikariDataSource(config);
        Writers writers = new Writers(pool)) {
      writers.awaitMore(100);

      // Apply stopped: the switch cannot see its barrier arrive, aborts, and traffic stays on old (I7).
      flag.set(Target.NEW);
      SwitchEvent aborted = next(events);
      assertThat(aborted.outcome()).as(aborted.summary()).isEqualTo(Outcome.ABORTED);
      flag.set(Target.OLD);
      writers.awaitMore(100);
      try (Connection o = db.old()) {
        assertThat(OwnedDatabase.count(o, "SELECT count(*) FROM booking WHERE writer > 0")).isPositive();
        OwnedDatabase.execute(o, "INSERT INTO payment (booking, amount) VALUES (1, 0.01)"); // not fenced
      }

      try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
        r.awaitCaughtUp(WAIT);
        Reverse.Report reverse = r.reverse(new Reverse.Options(Duration.ZERO, WAIT));
        assertThat(reverse.mode()).isEqualTo("capture");
        flag.set(Target.NEW);
        SwitchEvent there = next(events);
        assertThat(there.outcome()).as(there.summary()).isEqualTo(Outcome.COMPLETED);
        Set<Long> acknowledged = Set.copyOf(writers.acknowledged);
        try (Connection n = db.nw()) {
          assertThat(writers.missingFrom(n, acknowledged)).as("I1: acknowledged before the switch ended, missing on new").isEmpty();
        }
        try (Connection o = db.old()) {
          assertThatThrownBy(() -> OwnedDatabase.execute(o, "INSERT INTO payment (booking, amount) VALUES (1, 0.02)"))
              .as("I2: old is fenced").isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("25006"));
        }
        writers.awaitMore(200);
        Set<Long> onNew = new HashSet<>(writers.acknowledged);
        onNew.removeAll(acknowledged);
        try (Connection o = db.old()) {
          await().atMost(WAIT).untilAsserted(() -> assertThat(writers.missingFrom(o, onNew))
              .as("writes made on new, carried to old by reverse capture").isEmpty());
        }

        flag.set(Target.OLD);
        SwitchEvent back = next(events);
        assertThat(back.outcome()).as(back.summary()).isEqualTo(Outcome.COMPLETED);
        Set<Long> beforeBack = Set.copyOf(writers.acknowledged);
        try (Connection o = db.old()) {
          assertThat(writers.missingFrom(o, beforeBack)).as("flip back: acknowledged on either side, missing on old").isEmpty();
        }
        writers.awaitMore(100);
        writers.close();
        assertThat(writers.failures).as("I5 and I7: failed transactions").isEmpty();
        assertThat(writers.unread).as("I4: writes their writer could not read back").isEmpty();
        assertThat(writers.duplicateIds).as("I6: booking ids handed out twice").isEmpty();
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
    } finally {
      CutoverDriver.shutdown(db.name);
    }
  }

  private static SwitchEvent next(SwitchEventQueue events) throws InterruptedException {
    SwitchEvent e = events.next(WAIT);
    assertThat(e).as("a switch event within %s", WAIT).isNotNull();
    System.out.println("[switch] " + e.summary());
    return e;
  }

  /**
   * Eight writers through the pool, each paced to one transaction every 20 ms (up to 400 tx/s in
   * all): a booking and its payment per transaction, each read back by its writer at once.
   */
  private static final class Writers implements AutoCloseable {
    final Set<Long> acknowledged = ConcurrentHashMap.newKeySet();
    final Set<Integer> ids = ConcurrentHashMap.newKeySet();
    final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
    final ConcurrentLinkedQueue<String> unread = new ConcurrentLinkedQueue<>();
    final ConcurrentLinkedQueue<Integer> duplicateIds = new ConcurrentLinkedQueue<>();
    final AtomicLong commits = new AtomicLong();
    private static final long PACE_NANOS = 20_000_000;
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean running = true;

    Writers(HikariDataSource pool) {
      for (int w = 1; w <= WRITERS; w++) {
        int writer = w;
        Thread t = new Thread(() -> write(pool, writer), "capture-writer-" + w);
        t.setDaemon(true);
        threads.add(t);
        t.start();
      }
    }

    static long key(int writer, int seq) {
      return (long) writer << 32 | seq;
    }

    private void write(HikariDataSource pool, int writer) {
      long next = System.nanoTime();
      for (int seq = 0; running; seq++) {
        next += PACE_NANOS;
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
          try (PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM booking WHERE writer = ? AND seq = ?")) {
            ps.setInt(1, writer);
            ps.setInt(2, seq);
            try (ResultSet rs = ps.executeQuery()) {
              rs.next();
              if (rs.getInt(1) != 1) {
                unread.add("writer " + writer + " seq " + seq);
              }
            }
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
      running = false;
      for (Thread t : threads) {
        try {
          t.join(30_000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }
  }
}
