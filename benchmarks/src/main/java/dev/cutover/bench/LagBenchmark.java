package dev.cutover.bench;

import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.replication.StartOptions;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresServer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * End-to-end replication lag old → new under a steady TPC-B-like write load, against the same
 * probe with no load, in one run.
 *
 * <p>Replication is what the product sets up: the replicator's {@code start} (native logical
 * replication, pgoutput, with the control schema's fence triggers on old's tables). A probe
 * inserts a row with a sequence number and {@code clock_timestamp()} on old every 10 ms, each in
 * its own transaction; on new an {@code ENABLE ALWAYS} trigger stamps the row with
 * {@code clock_timestamp()} when the apply worker inserts it, just before that transaction
 * commits and the row becomes visible. Lag = applied − sent, per probe: 100 samples a second,
 * nothing polled, no load added on new. Both stamps come from the same clock because both
 * servers run on this machine; between machines, use the replicator's heartbeat instead (its
 * resolution is its interval).
 *
 * <p>Phases, with the probe running throughout: {@code idle} (no writer: the baseline), a
 * warm-up of the writer (not reported), then {@code load}. The writer is open-loop: transaction
 * slots every 1/rate seconds shared by its connections; when the machine cannot keep up it
 * falls behind and the achieved rate is reported as it is.
 */
final class LagBenchmark {
  static final String DB = "lag";
  private static final long PROBE_INTERVAL_NANOS = 10_000_000L;
  private static final double TARGET_P99_MS = 50;

  private enum Phase { IDLE, WARMUP, LOAD, DONE }

  private final int rate;
  private final int accounts;
  private final int clients;
  private final double idleSeconds;
  private final double warmupSeconds;
  private final double loadSeconds;

  LagBenchmark(int rate, int accounts, int clients, double idleSeconds, double warmupSeconds, double loadSeconds) {
    if (rate < 1) {
      throw new IllegalArgumentException("rate must be at least 1 tx/s, not " + rate);
    }
    this.rate = rate;
    this.accounts = accounts;
    this.clients = clients;
    this.idleSeconds = idleSeconds;
    this.warmupSeconds = warmupSeconds;
    this.loadSeconds = loadSeconds;
  }

  Report run(PostgresPair pair) throws Exception {
    PostgresServer old = pair.oldServer();
    PostgresServer nw = pair.newServer();
    PgbenchDatabase data = new PgbenchDatabase(accounts, false);
    old.createDatabase(DB);
    nw.createDatabase(DB);
    try (Connection o = old.connect(DB); Connection n = nw.connect(DB)) {
      data.createAndFill(o);
      data.createSchema(n);
      createProbe(o, false);
      createProbe(n, true);
    }
    Replicator r = Replicator.builder()
        .old(Endpoint.of(Side.OLD, old.jdbcUrl(DB), old.user(), old.password()))
        .nw(Endpoint.of(Side.NEW, nw.jdbcUrl(DB), nw.user(), nw.password()))
        .build();
    r.start(StartOptions.defaults().withKeyless(PgbenchDatabase.HISTORY_FULL), new CopyProgress(), CopyListener.NONE);
    r.awaitCaughtUp(Duration.ofMinutes(5));

    Phased phase = new Phased();
    List<Exception> failures = new CopyOnWriteArrayList<>();
    Thread probe = new Thread(() -> probe(old, phase, failures), "lag-probe");
    probe.setDaemon(true);
    AtomicLong committed = new AtomicLong();
    Recorder writerLatency = new Recorder(3);
    AtomicLong nextSlot = new AtomicLong();
    long intervalNanos = (long) (1e9 / rate);
    List<Thread> writers = new ArrayList<>();
    for (int i = 0; i < clients; i++) {
      Thread t = new Thread(() -> write(old, data, phase, nextSlot, intervalNanos, committed, writerLatency, failures),
          "lag-writer-" + i);
      t.setDaemon(true);
      writers.add(t);
    }

    long loadNanos;
    long loadCommitted;
    Histogram loadLatency;
    try {
      probe.start();
      System.err.printf(Locale.ROOT, "lag: %s s with the probe only...%n", secs(idleSeconds));
      sleep(idleSeconds);
      System.err.printf(Locale.ROOT, "lag: writer at %d tx/s, %d connections: %s s warm-up, %s s measured...%n",
          rate, clients, secs(warmupSeconds), secs(loadSeconds));
      phase.set(Phase.WARMUP);
      nextSlot.set(System.nanoTime());
      writers.forEach(Thread::start);
      sleep(warmupSeconds);
      long c0 = committed.get();
      writerLatency.reset();
      long l0 = System.nanoTime();
      phase.set(Phase.LOAD);
      sleep(loadSeconds);
      phase.set(Phase.DONE);
      loadNanos = System.nanoTime() - l0;
      loadCommitted = committed.get() - c0;
      loadLatency = writerLatency.getIntervalHistogram();
    } finally {
      phase.set(Phase.DONE);
      for (Thread t : writers) {
        t.join(30_000);
      }
      probe.join(30_000);
    }
    if (!failures.isEmpty()) {
      throw failures.get(0);
    }
    r.awaitCaughtUp(Duration.ofMinutes(5));

    Map<Phase, Histogram> lag = new EnumMap<>(Phase.class);
    Map<Phase, Long> sent = new EnumMap<>(Phase.class);
    try (Connection o = old.connect(DB); Connection n = nw.connect(DB)) {
      readLag(n, lag);
      checkHistory(o, n);
      try (Statement s = o.createStatement();
          ResultSet rs = s.executeQuery("SELECT phase, count(*) FROM bench_lag_probe GROUP BY phase")) {
        while (rs.next()) {
          sent.put(Phase.valueOf(rs.getString(1)), rs.getLong(2));
        }
      }
    }
    for (Phase p : List.of(Phase.IDLE, Phase.LOAD)) {
      long arrived = lag.containsKey(p) ? lag.get(p).getTotalCount() : 0;
      if (arrived == 0 || arrived != sent.getOrDefault(p, 0L)) {
        throw new IllegalStateException("lag probe, phase " + p + ": " + sent.getOrDefault(p, 0L) + " sent on old, "
            + arrived + " applied on new");
      }
    }
    r.cleanup();

    double achieved = loadCommitted / (loadNanos / 1e9);
    Report report = new Report("replication lag", "phase", "writer target tx/s", "writer achieved tx/s", "writer p99 ms",
        "probes", "lag p50 ms", "lag p99 ms", "lag max ms");
    Histogram idle = lag.get(Phase.IDLE);
    Histogram load = lag.get(Phase.LOAD);
    report.row("idle (baseline)", "0", "0", "", idle.getTotalCount(), ms(idle.getValueAtPercentile(50)),
        ms(idle.getValueAtPercentile(99)), ms(idle.getMaxValue()));
    report.row("TPC-B-like load", Integer.toString(rate), String.format(Locale.ROOT, "%.0f", achieved),
        ms(loadLatency.getValueAtPercentile(99)), load.getTotalCount(), ms(load.getValueAtPercentile(50)),
        ms(load.getValueAtPercentile(99)), ms(load.getMaxValue()));
    double p99 = load.getValueAtPercentile(99) / 1000.0;
    report.fact("replication", "replicator start (native logical replication, pgoutput), PostgreSQL " + old.majorVersion()
        + " -> " + nw.majorVersion() + ", embedded, same machine, loopback");
    report.fact("probe", "a row every 10 ms on old (sent = clock_timestamp()), stamped on new by an ENABLE ALWAYS trigger"
        + " as the apply worker inserts it; lag = applied - sent");
    report.fact("writer", String.format(Locale.ROOT, "pgbench's TPC-B transaction (3 updates, 1 select, 1 insert),"
        + " %d connections, open-loop at %d tx/s; %,d accounts, %d tellers, %d branch(es), no secondary indexes;"
        + " %s s idle, %s s warm-up, %s s measured", clients, rate, accounts, data.tellers(), data.branches(),
        secs(idleSeconds), secs(warmupSeconds), secs(loadSeconds)));
    report.fact("achieved", achieved >= rate * 0.98
        ? String.format(Locale.ROOT, "%.0f tx/s (target reached)", achieved)
        : String.format(Locale.ROOT, "%.0f tx/s, %.0f%% of the %d tx/s asked: the machine could not keep up", achieved,
            100 * achieved / rate, rate));
    report.fact("target", "lag p99 < " + (int) TARGET_P99_MS + " ms under load: "
        + (p99 < TARGET_P99_MS ? "met" : "NOT MET") + String.format(Locale.ROOT, " (%.2f ms)", p99));
    return report;
  }

  private static String secs(double seconds) {
    return seconds == Math.rint(seconds) ? Long.toString((long) seconds) : Double.toString(seconds);
  }

  private static Double ms(long micros) {
    return micros / 1000.0;
  }

  private static void createProbe(Connection c, boolean stampOnApply) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute("CREATE TABLE bench_lag_probe (seq bigint PRIMARY KEY, phase text NOT NULL,"
          + " sent_at timestamptz NOT NULL, applied_at timestamptz)");
      if (stampOnApply) {
        s.execute("CREATE FUNCTION bench_lag_stamp() RETURNS trigger LANGUAGE plpgsql AS"
            + " $$BEGIN NEW.applied_at := clock_timestamp(); RETURN NEW; END$$");
        s.execute("CREATE TRIGGER bench_lag_stamp BEFORE INSERT ON bench_lag_probe"
            + " FOR EACH ROW EXECUTE FUNCTION bench_lag_stamp()");
        // The apply worker runs with session_replication_role = replica: only ALWAYS triggers fire.
        s.execute("ALTER TABLE bench_lag_probe ENABLE ALWAYS TRIGGER bench_lag_stamp");
      }
    }
  }

  private static void readLag(Connection n, Map<Phase, Histogram> lag) throws SQLException {
    try (Statement s = n.createStatement();
        ResultSet rs = s.executeQuery("SELECT phase, (extract(epoch FROM applied_at - sent_at) * 1000000)::bigint"
            + " FROM bench_lag_probe WHERE phase IN ('IDLE', 'LOAD')")) {
      while (rs.next()) {
        long micros = rs.getLong(2);
        if (rs.wasNull()) {
          throw new IllegalStateException("a probe row reached new without its apply stamp: the trigger bench_lag_stamp did not fire");
        }
        lag.computeIfAbsent(Phase.valueOf(rs.getString(1)), p -> new Histogram(3)).recordValue(Math.max(0, micros));
      }
    }
  }

  /** Fails unless new holds as many history rows as old: the load really went through replication. */
  private static void checkHistory(Connection o, Connection n) throws SQLException {
    long onOld = PgbenchDatabase.rowCounts(o).get("pgbench_history");
    long onNew = PgbenchDatabase.rowCounts(n).get("pgbench_history");
    if (onOld != onNew || onOld == 0) {
      throw new IllegalStateException("pgbench_history: " + onOld + " rows on old, " + onNew + " on new after catching up");
    }
  }

  /** Inserts a probe row every 10 ms on its own connection until the phase is DONE. */
  private static void probe(PostgresServer old, Phased phase, List<Exception> failures) {
    try (Connection c = old.connect(DB);
        PreparedStatement ps = c.prepareStatement(
            "INSERT INTO bench_lag_probe (seq, phase, sent_at) VALUES (?, ?, clock_timestamp())")) {
      long next = System.nanoTime();
      long seq = 0;
      Phase p;
      while ((p = phase.get()) != Phase.DONE) {
        ps.setLong(1, ++seq);
        ps.setString(2, p.name());
        ps.executeUpdate();
        next += PROBE_INTERVAL_NANOS;
        long wait = next - System.nanoTime();
        if (wait > 0) {
          LockSupport.parkNanos(wait);
        } else if (wait < -PROBE_INTERVAL_NANOS) {
          next = System.nanoTime(); // fell behind (the machine is busy): no burst of probes to catch up
        }
      }
    } catch (SQLException e) {
      failures.add(e);
    }
  }

  /** One writer connection: takes the next transaction slot, waits for it, runs pgbench's TPC-B transaction. */
  private static void write(PostgresServer old, PgbenchDatabase data, Phased phase, AtomicLong nextSlot, long intervalNanos,
      AtomicLong committed, Recorder latency, List<Exception> failures) {
    try (Connection c = old.connect(DB); TpcbTransaction tx = new TpcbTransaction(c)) {
      c.setAutoCommit(false);
      ThreadLocalRandom random = ThreadLocalRandom.current();
      while (phase.get() != Phase.DONE) {
        long slot = nextSlot.getAndAdd(intervalNanos);
        long wait = slot - System.nanoTime();
        if (wait > 0) {
          LockSupport.parkNanos(wait);
        }
        if (phase.get() == Phase.DONE) {
          break;
        }
        int aid = 1 + random.nextInt((int) data.accounts());
        int tid = 1 + random.nextInt(data.tellers());
        int bid = 1 + random.nextInt(data.branches());
        int delta = random.nextInt(-5000, 5001);
        long t0 = System.nanoTime();
        tx.run(aid, tid, bid, delta);
        c.commit();
        latency.recordValue((System.nanoTime() - t0) / 1000);
        committed.incrementAndGet();
      }
    } catch (SQLException e) {
      failures.add(e);
    }
  }

  private static void sleep(double seconds) {
    long end = System.nanoTime() + (long) (seconds * 1e9);
    long left;
    while ((left = end - System.nanoTime()) > 0) {
      LockSupport.parkNanos(left);
    }
  }

  /** The current phase, shared by the probe and the writers. */
  private static final class Phased {
    private volatile Phase phase = Phase.IDLE;

    Phase get() {
      return phase;
    }

    void set(Phase p) {
      phase = p;
    }
  }
}
