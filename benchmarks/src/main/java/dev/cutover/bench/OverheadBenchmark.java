package dev.cutover.bench;

import com.zaxxer.hikari.HikariDataSource;
import dev.cutover.common.Threads;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresServer;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicLong;
import javax.sql.DataSource;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * The same workload through plain PgJDBC + HikariCP and through Cutover + HikariCP, on the same
 * server, in alternating rounds so that drift in the machine's speed hits both alike. Reports
 * throughput, latency, the ratio Cutover/plain and the statements the server saw per transaction.
 */
final class OverheadBenchmark {
  private final int rounds;
  private final double secondsPerRound;
  private final int clients;
  private final int accounts;

  OverheadBenchmark(int rounds, double secondsPerRound, int clients, int accounts) {
    this.rounds = rounds;
    this.secondsPerRound = secondsPerRound;
    this.clients = clients;
    this.accounts = accounts;
  }

  private static final class Tally {
    long transactions;
    long nanos;
    long statements;
    final Histogram latency = new Histogram(3);
  }

  Report run(PostgresPair pair) throws Exception {
    PostgresServer server = pair.oldServer();
    String db = server.createDatabase("overhead");
    pair.newServer().createDatabase(db);
    try (Connection c = server.connect(db); Statement s = c.createStatement()) {
      s.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
      Workload.createSchema(c, accounts);
    }
    Report report = new Report("overhead", "workload", "plain tx/s", "cutover tx/s", "ratio", "plain p50 us",
        "cutover p50 us", "plain p99 us", "cutover p99 us", "plain stmts/tx", "cutover stmts/tx");
    try (HikariDataSource plain = Pools.plain(server, db, clients);
        HikariDataSource cutover = Pools.cutover(server, pair.newServer(), db, clients,
            "cutover.service=overhead")) {
      for (Workload w : Workload.values()) {
        measure(w, plain, server, db, secondsPerRound / 2);
        measure(w, cutover, server, db, secondsPerRound / 2);
        Map<Side, Tally> tallies = new EnumMap<>(Side.class);
        tallies.put(Side.PLAIN, new Tally());
        tallies.put(Side.CUTOVER, new Tally());
        for (int r = 0; r < rounds; r++) {
          List<Side> order = r % 2 == 0 ? List.of(Side.PLAIN, Side.CUTOVER) : List.of(Side.CUTOVER, Side.PLAIN);
          for (Side side : order) {
            Tally round = measure(w, side == Side.PLAIN ? plain : cutover, server, db, secondsPerRound);
            Tally total = tallies.get(side);
            total.transactions += round.transactions;
            total.nanos += round.nanos;
            total.statements += round.statements;
            total.latency.add(round.latency);
          }
        }
        Tally p = tallies.get(Side.PLAIN);
        Tally c = tallies.get(Side.CUTOVER);
        double plainRate = p.transactions / (p.nanos / 1e9);
        double cutoverRate = c.transactions / (c.nanos / 1e9);
        report.row(w.label(), plainRate, cutoverRate, cutoverRate / plainRate,
            p.latency.getValueAtPercentile(50) / 1000.0, c.latency.getValueAtPercentile(50) / 1000.0,
            p.latency.getValueAtPercentile(99) / 1000.0, c.latency.getValueAtPercentile(99) / 1000.0,
            (double) p.statements / p.transactions, (double) c.statements / c.transactions);
      }
    }
    report.fact("server", "PostgreSQL " + server.majorVersion() + " (embedded, loopback)");
    report.fact("clients", clients);
    report.fact("rounds", rounds + " alternated rounds of " + secondsPerRound + " s per driver and workload");
    report.fact("target", "ratio >= 0.99, equal statements per transaction");
    return report;
  }

  private enum Side { PLAIN, CUTOVER }

  private Tally measure(Workload w, DataSource pool, PostgresServer server, String db, double seconds)
      throws Exception {
    resetStatements(server, db);
    Recorder recorder = new Recorder(3);
    AtomicLong done = new AtomicLong();
    List<Thread> threads = new ArrayList<>();
    List<Exception> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
    long start = System.nanoTime();
    long end = start + (long) (seconds * 1e9);
    ThreadFactory factory = Threads.daemon("overhead-client");
    for (int i = 0; i < clients; i++) {
      Thread t = factory.newThread(() -> {
        try {
          while (System.nanoTime() < end) {
            long t0 = System.nanoTime();
            w.run(pool, accounts);
            recorder.recordValue(System.nanoTime() - t0);
            done.incrementAndGet();
          }
        } catch (SQLException e) {
          failures.add(e);
        }
      });
      threads.add(t);
      t.start();
    }
    for (Thread t : threads) {
      t.join();
    }
    if (!failures.isEmpty()) {
      throw failures.get(0);
    }
    Tally tally = new Tally();
    tally.nanos = System.nanoTime() - start;
    tally.transactions = done.get();
    tally.latency.add(recorder.getIntervalHistogram());
    tally.statements = statements(server, db);
    return tally;
  }

  private static void resetStatements(PostgresServer server, String db) throws SQLException {
    try (Connection c = server.connect(db); Statement s = c.createStatement()) {
      s.execute("SELECT pg_stat_statements_reset()");
    }
  }

  /** Statements executed in {@code db} since the reset, not counting the benchmark's own bookkeeping. */
  private static long statements(PostgresServer server, String db) throws SQLException {
    try (Connection c = server.connect(db); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT coalesce(sum(calls), 0) FROM pg_stat_statements"
            + " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
            + " AND query NOT ILIKE '%pg_stat_statements%'")) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
