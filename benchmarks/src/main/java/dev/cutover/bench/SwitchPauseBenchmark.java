package dev.cutover.bench;

import com.zaxxer.hikari.HikariDataSource;
import dev.cutover.common.Threads;
import dev.cutover.driver.CutoverDriver;
import dev.cutover.driver.control.ControlSchema;
import dev.cutover.driver.Outcome;
import dev.cutover.driver.SwitchEvent;
import dev.cutover.driver.SwitchListener;
import dev.cutover.flags.ManualFlag;
import dev.cutover.flags.Target;
import dev.cutover.testkit.LogicalReplication;
import dev.cutover.testkit.PostgresPair;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Flips old → new under load at several rates with one and four application instances (each its
 * own pool and router), over native logical replication, and reports what the switch cost the
 * application: the longest and 99th-percentile gate wait, drain and barrier times, failed
 * transactions. The baseline, measured in the same run, is the latency of the same transaction
 * before the flip.
 */
final class SwitchPauseBenchmark {
  private static final int POOL = 4;
  private static final int THREADS_PER_INSTANCE = 2;

  private final List<Integer> rates;
  private final List<Integer> instanceCounts;
  private final double secondsBefore;
  private final double secondsAfter;

  SwitchPauseBenchmark(List<Integer> rates, List<Integer> instanceCounts, double secondsBefore, double secondsAfter) {
    this.rates = rates;
    this.instanceCounts = instanceCounts;
    this.secondsBefore = secondsBefore;
    this.secondsAfter = secondsAfter;
  }

  Report run(PostgresPair pair) throws Exception {
    Report report = new Report("switch pause", "instances", "target tx/s", "achieved tx/s", "outcome",
        "gate wait max ms", "gate wait p99 ms", "drain ms", "barrier ms", "switch total ms", "failed tx",
        "baseline p99 ms");
    int n = 0;
    for (int instances : instanceCounts) {
      for (int rate : rates) {
        scenario(pair, "pause" + (++n), instances, rate, report);
      }
    }
    report.fact("replication", "native logical replication, PostgreSQL " + pair.oldServer().majorVersion()
        + " -> " + pair.newServer().majorVersion() + ", loopback");
    report.fact("target", "gate wait max < 100 ms, 0 failed transactions");
    report.fact("rate 0", "as fast as it goes");
    return report;
  }

  private void scenario(PostgresPair pair, String db, int instances, int rate, Report report) throws Exception {
    pair.oldServer().createDatabase(db);
    pair.newServer().createDatabase(db);
    for (Connection c : new Connection[] {pair.oldServer().connect(db), pair.newServer().connect(db)}) {
      try (c; Statement s = c.createStatement()) {
        s.execute("CREATE TABLE event (id bigserial PRIMARY KEY, instance int NOT NULL, at timestamptz NOT NULL)");
        ControlSchema.install(c);
      }
    }
    try (Connection o = pair.oldServer().connect(db); Connection nw = pair.newServer().connect(db)) {
      LogicalReplication.publishAll(o, db + "_pub");
      LogicalReplication.subscribe(nw, db + "_sub", pair.oldServer().libpqConnection(db), db + "_pub",
          LogicalReplication.InitialData.COPY);
      LogicalReplication.awaitSynced(o, nw, db + "_sub", Duration.ofSeconds(30));
    }
    ManualFlag flag = ManualFlag.named(db);
    flag.set(Target.OLD);
    LinkedBlockingQueue<SwitchEvent> events = new LinkedBlockingQueue<>();
    SwitchListener listener = e -> {
      if (e.service().equals(db)) {
        events.add(e);
      }
    };
    CutoverDriver.addSwitchListener(listener);
    List<HikariDataSource> pools = new ArrayList<>();
    List<Thread> threads = new ArrayList<>();
    ThreadFactory writers = Threads.daemon("switch-pause-writer");
    AtomicLong done = new AtomicLong();
    AtomicLong failed = new AtomicLong();
    org.HdrHistogram.Recorder before = new org.HdrHistogram.Recorder(3);
    AtomicLong flipAt = new AtomicLong(Long.MAX_VALUE);
    long start = System.nanoTime();
    long stopAt = start + (long) ((secondsBefore + secondsAfter + 5) * 1e9);
    AtomicLong end = new AtomicLong(stopAt);
    try {
      for (int i = 0; i < instances; i++) {
        HikariDataSource pool = Pools.cutover(pair.oldServer(), pair.newServer(), db, POOL,
            "cutover.service=" + db, "cutover.instance=i" + i, "cutover.flag.provider=manual",
            "cutover.flag.key=" + db);
        pools.add(pool);
        int instance = i;
        long interval = rate == 0 ? 0 : (long) (1e9 * instances * THREADS_PER_INSTANCE / rate);
        for (int t = 0; t < THREADS_PER_INSTANCE; t++) {
          threads.add(writers.newThread(() -> write(pool, instance, interval, end, done, failed, before, flipAt)));
        }
      }
      threads.forEach(Thread::start);
      LockSupport.parkNanos((long) (secondsBefore * 1e9));
      flipAt.set(System.nanoTime());
      flag.set(Target.NEW);
      List<SwitchEvent> ended = new ArrayList<>();
      for (int i = 0; i < instances; i++) {
        SwitchEvent e = events.poll(60, TimeUnit.SECONDS);
        if (e == null) {
          throw new IllegalStateException("no switch event within 60 s in scenario " + db);
        }
        ended.add(e);
      }
      LockSupport.parkNanos((long) (secondsAfter * 1e9));
      end.set(System.nanoTime());
      for (Thread t : threads) {
        t.join();
      }
      double elapsed = (end.get() - start) / 1e9;
      boolean allCompleted = ended.stream().allMatch(e -> e.outcome() == Outcome.COMPLETED);
      report.row(instances, rate == 0 ? "max" : Integer.toString(rate), done.get() / elapsed,
          allCompleted ? "completed" : "ABORTED",
          max(ended, e -> e.gateWaitMax().toNanos()) / 1e6, max(ended, e -> e.gateWaitP99().toNanos()) / 1e6,
          max(ended, e -> e.drain().toNanos()) / 1e6, max(ended, e -> e.barrier().toNanos()) / 1e6,
          max(ended, e -> e.total().toNanos()) / 1e6, failed.get(),
          before.getIntervalHistogram().getValueAtPercentile(99) / 1e6);
    } finally {
      end.set(Math.min(end.get(), System.nanoTime()));
      Threads.joinAll(threads, Duration.ofSeconds(10));
      pools.forEach(HikariDataSource::close);
      CutoverDriver.removeSwitchListener(listener);
      CutoverDriver.shutdown(db);
    }
  }

  private static long max(List<SwitchEvent> events, java.util.function.ToLongFunction<SwitchEvent> f) {
    return events.stream().mapToLong(f).max().orElse(0);
  }

  private static void write(HikariDataSource pool, int instance, long intervalNanos, AtomicLong end, AtomicLong done,
      AtomicLong failed, org.HdrHistogram.Recorder before, AtomicLong flipAt) {
    long next = System.nanoTime();
    while (System.nanoTime() < end.get()) {
      long t0 = System.nanoTime();
      try (Connection c = pool.getConnection();
          PreparedStatement ps = c.prepareStatement("INSERT INTO event (instance, at) VALUES (?, now())")) {
        ps.setInt(1, instance);
        ps.executeUpdate();
        done.incrementAndGet();
        if (t0 < flipAt.get()) {
          before.recordValue(System.nanoTime() - t0);
        }
      } catch (SQLException e) {
        failed.incrementAndGet();
      }
      if (intervalNanos > 0) {
        next += intervalNanos;
        long wait = next - System.nanoTime();
        if (wait > 0) {
          LockSupport.parkNanos(wait);
        }
      }
    }
  }
}
