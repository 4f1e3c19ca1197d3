package dev.cutover.bench;

import dev.cutover.common.Threads;
import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.apply.Applier;
import dev.cutover.replicator.apply.ApplyProcess;
import dev.cutover.replicator.capture.Capture;
import dev.cutover.replicator.capture.Ticker;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.replication.StartOptions;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresServer;
import dev.cutover.testkit.TcpProxy;
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
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * End-to-end replication lag old → new under a steady TPC-B-like write load, against the same
 * probe with no load, in one run; with {@code --capture triggers} or {@code relay}, for that
 * engine beside logical replication, plus how fast each engine can apply and, for trigger capture,
 * what its triggers cost the writer on old.
 *
 * <p>Replication is what the product sets up: the replicator's {@code start} (native logical
 * replication, pgoutput, with the control schema's fence triggers on old's tables), and with
 * trigger capture or relayed replication the same start with {@code --capture triggers} or
 * {@code relay} and the replicator's apply process running in this JVM. A probe inserts a row with a sequence number and
 * {@code clock_timestamp()} on old every 10 ms, each in its own transaction; on new a trigger
 * stamps the row with {@code clock_timestamp()} when it becomes visible there (see
 * {@link #createProbe}). Lag = applied − sent, per probe: 100 samples a second, nothing polled,
 * no load added on new. Both stamps come
 * from the same clock because both servers run on this machine; between machines, use the
 * replicator's heartbeat instead (its resolution is its interval).
 *
 * <p>Phases per engine, with the probe running throughout: {@code idle} (no writer: the
 * baseline), a warm-up of the writer (not reported), then {@code load}. The writer is open-loop:
 * transaction slots every 1/rate seconds shared by its connections; when the machine cannot keep
 * up it falls behind and the achieved rate is reported as it is. Then the apply ceiling: with
 * apply stopped (subscription disabled, or the apply process closed while its ticker keeps
 * recording, as for an apply that is behind) a backlog of TPC-B transactions is written as fast as
 * the writers go, apply resumes, and the ceiling is the backlog divided by the time until a barrier
 * written after it arrives: below that rate lag does not grow. Last, for trigger capture, the overhead: closed-loop TPC-B writers on old, alternately
 * with the capture triggers disabled and enabled (apply stopped meanwhile, so that only the
 * triggers' cost shows), three rounds each. Trigger capture's lag is measured once per apply
 * pacing ({@code Applier.Options.batchEvery}) asked, in the order asked, so that settings can be
 * interleaved in one run; the probe table is emptied (and that replicated) before each.
 */
final class LagBenchmark {
  static final String DB = "lag";
  private static final long PROBE_INTERVAL_NANOS = 10_000_000L;
  private static final double TARGET_P99_MS = 50;
  private static final double TRIGGERS_TARGET_P99_MS = 200;
  private static final double TARGET_OVERHEAD = 0.20;
  /** Even, so that each order (off-on, on-off) runs as often. */
  private static final int OVERHEAD_ROUNDS = 4;

  private enum Phase { IDLE, WARMUP, LOAD, DONE }

  /** How one engine replicates the benchmark's database. */
  private interface Engine extends AutoCloseable {
    String label();

    /** Pauses applying (the source keeps capturing). */
    void pause() throws Exception;

    /** Applies again. */
    void resume() throws Exception;

    @Override
    void close() throws Exception;
  }

  private final int rate;
  private final int accounts;
  private final int clients;
  private final double idleSeconds;
  private final double warmupSeconds;
  private final double loadSeconds;
  private final int backlog;
  private final double overheadSeconds;
  /** The engine measured beside logical replication: trigger capture, relayed replication, or null. */
  private final Capture beside;
  private final List<Duration> batchEvery;
  /** How long a proxy holds each chunk of bytes between the replicator and new, each way (zero: no proxy). */
  private final Duration newDelay;

  /**
   * @param backlog transactions written while apply is paused, for the ceiling
   * @param overheadSeconds length of each overhead round
   * @param beside the engine measured beside logical replication ({@link Capture#TRIGGERS} or
   *     {@link Capture#RELAY}), or null
   * @param batchEvery trigger capture's apply pacing, one lag measurement each, in this order
   * @param newDelay how long a proxy between the replicator and new holds each chunk of bytes, each
   *     way, as a network between them would (zero: connected directly)
   */
  LagBenchmark(int rate, int accounts, int clients, double idleSeconds, double warmupSeconds, double loadSeconds, int backlog,
      double overheadSeconds, Capture beside, List<Duration> batchEvery, Duration newDelay) {
    if (rate < 1) {
      throw new IllegalArgumentException("rate must be at least 1 tx/s, not " + rate);
    }
    if (batchEvery.isEmpty()) {
      throw new IllegalArgumentException("batchEvery must name at least one apply pacing");
    }
    this.rate = rate;
    this.accounts = accounts;
    this.clients = clients;
    this.idleSeconds = idleSeconds;
    this.warmupSeconds = warmupSeconds;
    this.loadSeconds = loadSeconds;
    this.backlog = backlog;
    this.overheadSeconds = overheadSeconds;
    this.beside = beside;
    this.batchEvery = List.copyOf(batchEvery);
    this.newDelay = newDelay;
  }

  Report run(PostgresPair pair) throws Exception {
    PgbenchDatabase data = new PgbenchDatabase(accounts, false);
    Report report = new Report("replication lag", "engine", "phase", "writer target tx/s", "writer achieved tx/s", "writer p99 ms",
        "probes", "lag p50 ms", "lag p99 ms", "lag max ms");
    List<String> targets = new ArrayList<>();
    List<String> ceilings = new ArrayList<>();
    measure(pair, data, DB, Capture.LOGICAL, report, targets, ceilings);
    if (beside != null) {
      measure(pair, data, DB + "_" + beside.label(), beside, report, targets, ceilings);
    }
    report.fact("replication", "replicator start, PostgreSQL " + pair.oldServer().majorVersion() + " -> " + pair.newServer().majorVersion()
        + ", embedded, same machine, loopback: native logical replication (pgoutput)" + (beside == null ? "" : "; "
        + (beside == Capture.TRIGGERS ? "trigger capture" : "relayed replication (the slot read by the apply process)") + " with the"
        + " replicator's apply process in this JVM, as the servers' superuser (so apply runs with session_replication_role = replica)")
        + (newDelay.isZero() ? "" : "; the replicator's connections to new (trigger capture's and relayed replication's apply) through a"
        + " proxy holding each chunk of bytes " + newDelay.toMillis() + " ms each way, as a network would; the subscription of logical"
        + " replication connects from new to old directly"));
    report.fact("probe", "a row every 10 ms on old (sent = clock_timestamp()), stamped on new by an ENABLE ALWAYS trigger as it becomes"
        + " visible (logical replication: BEFORE INSERT, each transaction commits right after; trigger capture: a deferred constraint"
        + " trigger, at the commit of the batch); lag = applied - sent");
    report.fact("writer", String.format(Locale.ROOT, "pgbench's TPC-B transaction (3 updates, 1 select, 1 insert),"
        + " %d connections, open-loop at %d tx/s; %,d accounts, %d tellers, %d branch(es), no secondary indexes;"
        + " %s s idle, %s s warm-up, %s s measured", clients, rate, accounts, data.tellers(), data.branches(),
        secs(idleSeconds), secs(warmupSeconds), secs(loadSeconds)));
    report.fact("apply ceiling", String.join("; ", ceilings) + String.format(Locale.ROOT, " (a backlog of %,d TPC-B transactions"
        + " written while apply was stopped, divided by the time from resuming until a barrier written after it arrived)", backlog));
    report.fact("target", String.join("; ", targets));
    return report;
  }

  /** Lag idle and under load, then the apply ceiling (and, for trigger capture, the overhead) of one engine on its own database. */
  private void measure(PostgresPair pair, PgbenchDatabase data, String db, Capture engine, Report report, List<String> targets,
      List<String> ceilings) throws Exception {
    if (newDelay.isZero()) {
      measure(pair, data, db, engine, report, targets, ceilings, pair.newServer().jdbcUrl(db));
      return;
    }
    try (TcpProxy toNew = TcpProxy.in(pair.newServer())) {
      toNew.delay(newDelay);
      measure(pair, data, db, engine, report, targets, ceilings, toNew.redirect(pair.newServer().jdbcUrl(db)));
    }
  }

  /** {@link #measure}, the replicator reaching new at {@code newUrl}. */
  private void measure(PostgresPair pair, PgbenchDatabase data, String db, Capture engine, Report report, List<String> targets,
      List<String> ceilings, String newUrl) throws Exception {
    PostgresServer old = pair.oldServer();
    PostgresServer nw = pair.newServer();
    old.createDatabase(db);
    nw.createDatabase(db);
    try (Connection o = old.connect(db); Connection n = nw.connect(db)) {
      data.createAndFill(o);
      data.createSchema(n);
      createProbe(o, null);
      createProbe(n, engine);
    }
    Replicator r = Replicator.builder()
        .old(Endpoint.of(Side.OLD, old.jdbcUrl(db), old.user(), old.password()))
        .nw(Endpoint.of(Side.NEW, newUrl, nw.user(), nw.password()))
        .build();
    r.start(StartOptions.defaults().withKeyless(PgbenchDatabase.HISTORY_FULL).withCapture(engine), new CopyProgress(), CopyListener.NONE);
    try (Engine running = engine == Capture.LOGICAL ? new Native(nw, db, r.names().forward()) : new Applied(r, engine)) {
      r.awaitCaughtUp(Duration.ofMinutes(5));
      if (engine == Capture.TRIGGERS && running instanceof Applied t) {
        for (Duration pacing : batchEvery) {
          t.pace(pacing);
          lag(old, nw, db, data, r, running, report, targets);
        }
      } else {
        lag(old, nw, db, data, r, running, report, targets);
      }
      r.awaitCaughtUp(Duration.ofMinutes(5));
      ceilings.add(running.label() + " " + String.format(Locale.ROOT, "%.0f tx/s", ceiling(old, db, data, r, running)));
      if (engine == Capture.TRIGGERS) {
        running.pause();
        report.fact("capture overhead", overhead(old, db, data));
      }
    }
    r.cleanup();
  }

  private void lag(PostgresServer old, PostgresServer nw, String db, PgbenchDatabase data, Replicator r, Engine engine, Report report,
      List<String> targets) throws Exception {
    try (Connection o = old.connect(db); Statement s = o.createStatement()) {
      s.execute("DELETE FROM bench_lag_probe"); // an earlier round's probes, on new too once caught up
    }
    r.awaitCaughtUp(Duration.ofMinutes(5));
    Phased phase = new Phased();
    List<Exception> failures = new CopyOnWriteArrayList<>();
    Thread probe = Threads.daemon("lag-probe").newThread(() -> probe(old, db, phase, failures));
    AtomicLong committed = new AtomicLong();
    Recorder writerLatency = new Recorder(3);
    AtomicLong nextSlot = new AtomicLong();
    long intervalNanos = (long) (1e9 / rate);
    List<Thread> writers = writers(old, db, data, phase::get, nextSlot, intervalNanos, committed, writerLatency, failures);

    long loadNanos;
    long loadCommitted;
    Histogram loadLatency;
    try {
      probe.start();
      System.err.printf(Locale.ROOT, "lag (%s): %s s with the probe only...%n", engine.label(), secs(idleSeconds));
      sleep(idleSeconds);
      System.err.printf(Locale.ROOT, "lag (%s): writer at %d tx/s, %d connections: %s s warm-up, %s s measured...%n",
          engine.label(), rate, clients, secs(warmupSeconds), secs(loadSeconds));
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
      Threads.joinAll(writers, Duration.ofSeconds(30));
      Threads.joinAll(List.of(probe), Duration.ofSeconds(30));
    }
    if (!failures.isEmpty()) {
      throw failures.get(0);
    }
    r.awaitCaughtUp(Duration.ofMinutes(5));

    Map<Phase, Histogram> lag = new EnumMap<>(Phase.class);
    Map<Phase, Long> sent = new EnumMap<>(Phase.class);
    try (Connection o = old.connect(db); Connection n = nw.connect(db)) {
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
        throw new IllegalStateException("lag probe (" + engine.label() + "), phase " + p + ": " + sent.getOrDefault(p, 0L)
            + " sent on old, " + arrived + " applied on new");
      }
    }
    double achieved = loadCommitted / (loadNanos / 1e9);
    Histogram idle = lag.get(Phase.IDLE);
    Histogram load = lag.get(Phase.LOAD);
    report.row(engine.label(), "idle (baseline)", "0", "0", "", idle.getTotalCount(), ms(idle.getValueAtPercentile(50)),
        ms(idle.getValueAtPercentile(99)), ms(idle.getMaxValue()));
    report.row(engine.label(), "TPC-B-like load", Integer.toString(rate), String.format(Locale.ROOT, "%.0f", achieved),
        ms(loadLatency.getValueAtPercentile(99)), load.getTotalCount(), ms(load.getValueAtPercentile(50)),
        ms(load.getValueAtPercentile(99)), ms(load.getMaxValue()));
    double p99 = load.getValueAtPercentile(99) / 1000.0;
    double target = engine instanceof Applied ? TRIGGERS_TARGET_P99_MS : TARGET_P99_MS;
    targets.add(engine.label() + String.format(Locale.ROOT, ": lag p99 < %.0f ms under load: %s (%.2f ms) at %.0f tx/s%s", target,
        p99 < target ? "met" : "NOT MET", p99, achieved, achieved >= rate * 0.98 ? "" : String.format(Locale.ROOT,
            " (%.0f%% of the %d tx/s asked: the machine could not keep up)", 100 * achieved / rate, rate)));
  }

  /** Transactions per second the engine applies: a backlog written while it was paused, over the time it took to apply it. */
  private double ceiling(PostgresServer old, String db, PgbenchDatabase data, Replicator r, Engine engine) throws Exception {
    engine.pause();
    System.err.printf(Locale.ROOT, "lag (%s): apply stopped, writing a backlog of %,d transactions...%n", engine.label(), backlog);
    AtomicLong committed = new AtomicLong();
    List<Exception> failures = new CopyOnWriteArrayList<>();
    List<Thread> writers = writers(old, db, data, () -> committed.get() < backlog ? Phase.LOAD : Phase.DONE, new AtomicLong(), 0,
        committed, new Recorder(3), failures);
    writers.forEach(Thread::start);
    for (Thread t : writers) {
      t.join();
    }
    if (!failures.isEmpty()) {
      throw failures.get(0);
    }
    long t0 = System.nanoTime();
    engine.resume();
    r.awaitCaughtUp(Duration.ofMinutes(10));
    double seconds = (System.nanoTime() - t0) / 1e9;
    System.err.printf(Locale.ROOT, "lag (%s): %,d transactions applied in %.2f s%n", engine.label(), committed.get(), seconds);
    return committed.get() / seconds;
  }

  /**
   * Closed-loop TPC-B on old with the capture triggers off and on; what they cost the writer. The
   * order turns every round (off-on, on-off, ...; an even number of rounds): throughput drifts
   * down across a run (the pgbench tables' hot rows, checkpoints), and a fixed off-then-on order
   * would count that drift against the capture.
   */
  private String overhead(PostgresServer old, String db, PgbenchDatabase data) throws Exception {
    double[] plain = new double[OVERHEAD_ROUNDS];
    double[] captured = new double[OVERHEAD_ROUNDS];
    for (int round = 0; round < OVERHEAD_ROUNDS; round++) {
      for (boolean on : round % 2 == 0 ? new boolean[] {false, true} : new boolean[] {true, false}) {
        captureTriggers(old, db, on);
        (on ? captured : plain)[round] = closedLoop(old, db, data);
      }
      System.err.printf(Locale.ROOT, "lag: overhead round %d: %.0f tx/s without capture triggers, %.0f with%n", round + 1,
          plain[round], captured[round]);
    }
    double p = Report.median(plain);
    double c = Report.median(captured);
    double fewer = 1 - c / p;
    return String.format(Locale.ROOT, "closed-loop TPC-B, %d connections, %d rounds of %s s each way, off-on and on-off in turn"
        + " (medians): %.0f tx/s without capture triggers, %.0f tx/s with them: %.1f%% fewer (target <= %.0f%%: %s);"
        + " rounds without %s, with %s", clients,
        OVERHEAD_ROUNDS, secs(overheadSeconds), p, c, 100 * fewer, 100 * TARGET_OVERHEAD, fewer <= TARGET_OVERHEAD ? "met" : "NOT MET",
        Report.rounds("%.0f", plain), Report.rounds("%.0f", captured));
  }

  private double closedLoop(PostgresServer old, String db, PgbenchDatabase data) throws Exception {
    Phased phase = new Phased();
    phase.set(Phase.LOAD);
    AtomicLong committed = new AtomicLong();
    List<Exception> failures = new CopyOnWriteArrayList<>();
    List<Thread> writers = writers(old, db, data, phase::get, new AtomicLong(), 0, committed, new Recorder(3), failures);
    writers.forEach(Thread::start);
    sleep(0.5); // connections open, statements prepared
    long c0 = committed.get();
    long t0 = System.nanoTime();
    sleep(overheadSeconds);
    long c1 = committed.get();
    long t1 = System.nanoTime();
    phase.set(Phase.DONE);
    Threads.joinAll(writers, Duration.ofSeconds(30));
    if (!failures.isEmpty()) {
      throw failures.get(0);
    }
    return (c1 - c0) / ((t1 - t0) / 1e9);
  }

  /**
   * Turns the capture triggers of the pgbench tables off or on again (every trigger calling a
   * capture function), through {@link CaptureTriggerSwitch}: capture's event trigger made them
   * again at once, which measured capture against itself (3.4% "overhead" on 2026-12-02 until
   * this). Checked after each turn, so that a figure is never of the wrong thing.
   */
  private static void captureTriggers(PostgresServer old, String db, boolean enable) throws SQLException {
    String ours = " FROM pg_trigger WHERE tgfoid IN ('cutover.capture'::regproc, 'cutover.capture_row'::regproc)"
        + " AND tgrelid::regclass::text LIKE 'pgbench\\_%'";
    List<String> alters = new ArrayList<>();
    try (Connection o = old.connect(db); Statement s = o.createStatement()) {
      try (ResultSet rs = s.executeQuery("SELECT format('ALTER TABLE %s " + (enable ? "ENABLE ALWAYS" : "DISABLE") + " TRIGGER %I',"
          + " tgrelid::regclass, tgname)" + ours)) {
        while (rs.next()) {
          alters.add(rs.getString(1));
        }
      }
      CaptureTriggerSwitch.run(o, alters);
      try (ResultSet rs = s.executeQuery("SELECT count(*) FILTER (WHERE tgenabled " + (enable ? "<> 'A'" : "<> 'D'") + "), count(*)" + ours)) {
        rs.next();
        if (rs.getLong(1) > 0 || rs.getLong(2) == 0) {
          throw new IllegalStateException("capture triggers on the pgbench tables: " + rs.getLong(1) + " of " + rs.getLong(2)
              + " not " + (enable ? "enabled" : "disabled") + " after turning them " + (enable ? "on" : "off"));
        }
      }
    }
  }

  private List<Thread> writers(PostgresServer old, String db, PgbenchDatabase data, java.util.function.Supplier<Phase> phase,
      AtomicLong nextSlot, long intervalNanos, AtomicLong committed, Recorder latency, List<Exception> failures) {
    List<Thread> writers = new ArrayList<>();
    ThreadFactory factory = Threads.daemon("lag-writer");
    for (int i = 0; i < clients; i++) {
      writers.add(factory.newThread(() -> write(old, db, data, phase, nextSlot, intervalNanos, committed, latency, failures)));
    }
    return writers;
  }

  /** Logical replication: pausing disables the subscription on new. */
  private static final class Native implements Engine {
    private final PostgresServer nw;
    private final String db;
    private final String subscription;

    Native(PostgresServer nw, String db, String subscription) {
      this.nw = nw;
      this.db = db;
      this.subscription = subscription;
    }

    @Override
    public String label() {
      return "logical replication";
    }

    @Override
    public void pause() throws SQLException {
      subscription(false);
    }

    @Override
    public void resume() throws SQLException {
      subscription(true);
    }

    private void subscription(boolean enable) throws SQLException {
      try (Connection n = nw.connect(db); Statement s = n.createStatement()) {
        s.execute("ALTER SUBSCRIPTION " + Sql.ident(subscription) + (enable ? " ENABLE" : " DISABLE"));
      }
    }

    @Override
    public void close() {}
  }

  /**
   * Trigger capture or relayed replication: the replicator's apply process in this JVM. Pausing
   * closes it (a slot keeps old's WAL meanwhile); with trigger capture it keeps a ticker recording
   * on old, as a running apply process that is behind would: the backlog is then applied in batches
   * of half a second of old's transactions, as in production.
   */
  private static final class Applied implements Engine {
    private final Replicator r;
    private final Capture engine;
    private Applier.Options options = Applier.Options.defaults();
    private ApplyProcess apply;
    private Ticker ticker;

    Applied(Replicator r, Capture engine) throws Exception {
      this.r = r;
      this.engine = engine;
      this.apply = r.apply(options);
    }

    /** Applies from now on with {@code batchEvery} (the apply process restarts, from its position on new). */
    void pace(Duration batchEvery) throws Exception {
      pause();
      options = options.withBatchEvery(batchEvery);
      resume();
    }

    @Override
    public String label() {
      return engine == Capture.RELAY ? "relayed replication" : "trigger capture, batch every " + options.batchEvery().toMillis() + "ms";
    }

    @Override
    public void pause() {
      if (apply != null) {
        apply.close();
        apply = null;
        if (engine == Capture.TRIGGERS) {
          ticker = Ticker.start(r.old(), Applier.Options.defaults().tickEvery());
        }
      }
    }

    @Override
    public void resume() throws Exception {
      if (ticker != null) {
        ticker.close();
        ticker = null;
      }
      if (apply == null) {
        apply = r.apply(options);
      }
    }

    @Override
    public void close() {
      pause();
      if (ticker != null) {
        ticker.close();
        ticker = null;
      }
    }
  }

  private static String secs(double seconds) {
    return seconds == Math.rint(seconds) ? Long.toString((long) seconds) : Double.toString(seconds);
  }

  private static Double ms(long micros) {
    return micros / 1000.0;
  }

  /**
   * The probe table; on new ({@code engine} not null) with the trigger that stamps each row as it
   * becomes visible there. Logical replication commits each source transaction on its own right
   * after applying it, so a BEFORE INSERT stamp is that moment. Trigger capture applies a batch of
   * source transactions in one transaction, so the stamp is an UPDATE by a deferred constraint
   * trigger, which fires as that transaction commits. Both are ENABLE ALWAYS: apply runs with
   * session_replication_role = replica, where only those fire.
   */
  private static void createProbe(Connection c, Capture engine) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute("CREATE TABLE bench_lag_probe (seq bigint PRIMARY KEY, phase text NOT NULL,"
          + " sent_at timestamptz NOT NULL, applied_at timestamptz)");
      if (engine == Capture.LOGICAL) {
        s.execute("CREATE FUNCTION bench_lag_stamp() RETURNS trigger LANGUAGE plpgsql AS"
            + " $$BEGIN NEW.applied_at := clock_timestamp(); RETURN NEW; END$$");
        s.execute("CREATE TRIGGER bench_lag_stamp BEFORE INSERT ON bench_lag_probe FOR EACH ROW EXECUTE PROCEDURE bench_lag_stamp()");
      } else if (engine != null) {
        s.execute("CREATE FUNCTION bench_lag_stamp() RETURNS trigger LANGUAGE plpgsql AS"
            + " $$BEGIN UPDATE bench_lag_probe SET applied_at = clock_timestamp() WHERE seq = NEW.seq; RETURN NULL; END$$");
        s.execute("CREATE CONSTRAINT TRIGGER bench_lag_stamp AFTER INSERT ON bench_lag_probe DEFERRABLE INITIALLY DEFERRED"
            + " FOR EACH ROW EXECUTE PROCEDURE bench_lag_stamp()");
      }
      if (engine != null) {
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
  private static void probe(PostgresServer old, String db, Phased phase, List<Exception> failures) {
    try (Connection c = old.connect(db);
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

  /**
   * One writer connection: takes the next transaction slot, waits for it, runs pgbench's TPC-B
   * transaction, until the phase is DONE; with an interval of 0 it runs as fast as it can.
   */
  private static void write(PostgresServer old, String db, PgbenchDatabase data, java.util.function.Supplier<Phase> phase,
      AtomicLong nextSlot, long intervalNanos, AtomicLong committed, Recorder latency, List<Exception> failures) {
    try (Connection c = old.connect(db); TpcbTransaction tx = new TpcbTransaction(c)) {
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
