package dev.cutover.bench;

import dev.cutover.common.Poll;
import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.replication.StartOptions;
import dev.cutover.replicator.replication.StartReport;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.replicator.sql.TableName;
import dev.cutover.testkit.LogicalReplication;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresServer;
import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;

/**
 * The initial copy of one generated pgbench-shaped database from old to new, three ways, each
 * into its own empty database on new and timed from the first statement to a target that holds
 * every row with every index:
 * <ol>
 *   <li>the replicator's {@code start} until caught up (a barrier marker written on old after
 *       start returns has arrived on new): snapshot copy into bare tables, index builds,
 *       subscription from the copy's own slot; live-consistent, so no drift window;</li>
 *   <li>{@code pg_dump | psql}, a full dump (schema and data) into an empty database: the dump
 *       creates the tables, loads them and builds keys and indexes after; consistent only if the
 *       application stops writing for the whole copy;</li>
 *   <li>a plain native subscription ({@code copy_data = true}) into the same schema with every
 *       index in place, until every table is in state {@code r} and the stream has caught up.</li>
 * </ol>
 * Each target's row counts and index count are checked against old after its run (not timed), so
 * a method that silently copied less cannot look fast.
 *
 * <p>The replicator runs first, then pg_dump, then the subscription; old is vacuumed after
 * generation, and before each run both servers checkpoint and the kernel writes back its dirty
 * pages, so no method pays for another's (or the generation's) writes.
 */
final class CopyBenchmark {
  static final String SOURCE_DB = "copy_src";
  private static final String MAINTENANCE_WORK_MEM = "256MB";
  private static final Duration TIMEOUT = Duration.ofMinutes(30);
  private static final double TARGET_VS_SUBSCRIPTION = 4.0;
  private static final double TARGET_VS_DUMP = 1.4;

  private final long rows;
  private final PgClient client;
  private final StartOptions options;
  private final int rounds;

  /**
   * @param options the replicator's start options: its defaults, unless tuning is the point
   * @param rounds how many times each method runs; the median counts
   */
  CopyBenchmark(long rows, PgClient client, StartOptions options, int rounds) {
    if (rounds < 1) {
      throw new IllegalArgumentException("rounds must be at least 1, not " + rounds);
    }
    this.rows = rows;
    this.client = client;
    this.options = options;
    this.rounds = rounds;
  }

  Report run(PostgresPair pair) throws Exception {
    PostgresServer old = pair.oldServer();
    PostgresServer nw = pair.newServer();
    PgbenchDatabase data = new PgbenchDatabase(rows, true);

    old.createDatabase(SOURCE_DB);
    long g0 = System.nanoTime();
    Map<String, Long> expected;
    long bytes;
    try (Connection o = old.connect(SOURCE_DB)) {
      data.createAndFill(o);
      expected = PgbenchDatabase.rowCounts(o);
      bytes = PgbenchDatabase.totalBytes(o);
    }
    double generateSeconds = (System.nanoTime() - g0) / 1e9;
    System.err.printf(Locale.ROOT, "copy: generated %,d accounts (%.0f MB with indexes) on PostgreSQL %d in %.1f s%n",
        rows, bytes / 1048576.0, old.majorVersion(), generateSeconds);
    warmUp(nw, rows);

    List<ReplicatorRun> replicatorRuns = new ArrayList<>();
    double[] dumpSeconds = new double[rounds];
    double[] subscriptionSeconds = new double[rounds];
    for (int round = 0; round < rounds; round++) {
      System.err.printf(Locale.ROOT, "copy: round %d of %d%n", round + 1, rounds);
      replicatorRuns.add(viaReplicator(old, nw, data, expected));
      dumpSeconds[round] = viaDump(old, nw, data, expected);
      subscriptionSeconds[round] = viaSubscription(old, nw, data, expected);
    }
    String pipeline = client.describe(old, SOURCE_DB, nw, "copy_dump", MAINTENANCE_WORK_MEM);
    ReplicatorRun replicator = replicatorRuns.stream().sorted(Comparator.comparingDouble(ReplicatorRun::seconds))
        .toList().get(rounds / 2);
    StartReport started = replicator.report();
    double replicatorSeconds = replicator.seconds();
    double dump = Report.median(dumpSeconds);
    double subscription = Report.median(subscriptionSeconds);

    Report report = new Report("copy", "method", "seconds (median)", "rounds", "replicator faster by", "target", "met", "what it does");
    StartReport.TableCopy accounts = started.tables().stream().filter(t -> t.table().endsWith("pgbench_accounts"))
        .findFirst().orElseThrow();
    report.row("replicator start -> caught up", replicatorSeconds,
        rounds(replicatorRuns.stream().mapToDouble(ReplicatorRun::seconds).toArray()), "-", "", "",
        String.format(Locale.ROOT, "copy %.1f s (accounts: %d %s%s chunk(s), %d jobs), indexes + ANALYZE %.1f s, rest %.1f s",
            started.copyMillis() / 1000.0, accounts.chunks(), accounts.binary() ? "binary" : "text", accounts.frozen() ? " frozen" : "",
            options.jobs(), started.indexMillis() / 1000.0,
            replicatorSeconds - (started.copyMillis() + started.indexMillis()) / 1000.0));
    report.row("pg_dump | psql (full dump)", dump, rounds(dumpSeconds), ratio(dump / replicatorSeconds),
        ">= " + TARGET_VS_DUMP + "x", met(dump / replicatorSeconds >= TARGET_VS_DUMP),
        "schema + data into an empty database; keys and indexes built after the load");
    report.row("plain subscription (copy_data = true)", subscription, rounds(subscriptionSeconds), ratio(subscription / replicatorSeconds),
        ">= " + TARGET_VS_SUBSCRIPTION + "x", met(subscription / replicatorSeconds >= TARGET_VS_SUBSCRIPTION),
        "into the schema with all " + data.accountIndexes() + " indexes on accounts in place; until all tables 'r' and caught up");
    report.fact("data", String.format(Locale.ROOT, "pgbench-shaped: %,d accounts, %d tellers, %d branch(es), empty history;"
        + " 3 secondary indexes on accounts; %.0f MB with indexes on old", rows, data.tellers(), data.branches(), bytes / 1048576.0));
    report.fact("servers", "PostgreSQL " + old.majorVersion() + " -> " + nw.majorVersion() + ", embedded, same machine, loopback");
    report.fact("rounds", rounds + " (each runs the three methods in turn; the table shows the median, and every round's"
        + " seconds in order), after an untimed warm-up that writes as much WAL on new as the copy will");
    report.fact("drift window", "none for the replicator and the subscription (the stream continues from the copy);"
        + " pg_dump | psql is a snapshot: writes after it are lost unless the application stops for the whole copy");
    report.fact("replicator tables (median round)", started.tables().stream()
        .filter(t -> t.rows() > 0)
        .map(t -> String.format(Locale.ROOT, "%s %,d rows %.0f MB %d chunk(s)%s %.1f s", t.table(), t.rows(), t.bytes() / 1048576.0,
            t.chunks(), t.frozen() ? " frozen" : "", t.millis() / 1000.0))
        .collect(Collectors.joining("; ")));
    report.fact("replicator index builds (median round)", String.join("; ", replicator.indexBuilds()) + " (" + options.jobs()
        + " at a time, maintenance_work_mem " + options.maintenanceWorkMem() + ")");
    report.fact("replicator options", String.format(Locale.ROOT, "%d jobs, %s%s", options.jobs(),
        options.splitBytes() == Long.MAX_VALUE ? "whole tables" : (options.splitBytes() >> 20) + " MB chunks",
        options.equals(StartOptions.defaults()) ? " (its defaults)" : " (NOT its defaults)"));
    report.fact("pg_dump | psql", pipeline);
    report.fact("client", client.pgDumpVersion() + "; " + client.psqlVersion());
    report.fact("ratio plain subscription / replicator", String.format(Locale.ROOT, "%.2f", subscription / replicatorSeconds));
    report.fact("ratio pg_dump|psql / replicator", String.format(Locale.ROOT, "%.2f", dump / replicatorSeconds));
    report.fact("target", "replicator >= 4x faster than the plain subscription and >= 1.4x faster than pg_dump | psql");
    report.fact("generation (not timed)", String.format(Locale.ROOT, "%.1f s", generateSeconds));
    try (Connection o = old.connect()) {
      try (Statement s = o.createStatement()) {
        s.execute("DROP DATABASE " + SOURCE_DB);
      }
    }
    return report;
  }

  /**
   * Writes about as much WAL on new as one copy will, untimed, so that the first method timed
   * does not alone pay for a fresh server's first WAL segments (seen: its copy took twice as long
   * as in the rounds after).
   */
  private static void warmUp(PostgresServer nw, long rows) throws Exception {
    System.err.println("copy: warming up new's WAL (untimed)...");
    try (Connection c = nw.connect(); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE cutover_bench_warmup AS SELECT g, repeat('x', 120) AS filler FROM generate_series(1, " + rows + ") g");
      s.execute("DROP TABLE cutover_bench_warmup");
    }
  }

  private static String rounds(double[] values) {
    return Report.rounds("%.1f", values);
  }

  private record ReplicatorRun(StartReport report, double seconds, List<String> indexBuilds) {}

  /** The replicator's start until caught up, then its cleanup. */
  private ReplicatorRun viaReplicator(PostgresServer old, PostgresServer nw, PgbenchDatabase data, Map<String, Long> expected)
      throws Exception {
    List<String> indexBuilds = new CopyOnWriteArrayList<>();
    String db = nw.createDatabase("copy_replicator");
    try (Connection n = nw.connect(db)) {
      data.createSchema(n);
    }
    settle(old, nw);
    Replicator r = Replicator.builder()
        .old(Endpoint.of(Side.OLD, old.jdbcUrl(SOURCE_DB), old.user(), old.password()))
        .nw(Endpoint.of(Side.NEW, nw.jdbcUrl(db), nw.user(), nw.password()))
        .build();
    System.err.println("copy: replicator start until caught up...");
    long t0 = System.nanoTime();
    StartReport started = r.start(options.withKeyless(PgbenchDatabase.HISTORY_FULL), new CopyProgress(), new CopyListener() {
      @Override
      public void indexBuilt(TableName table, String index, long millis) {
        indexBuilds.add(String.format(Locale.ROOT, "%s %.1f s", index, millis / 1000.0));
      }
    });
    r.awaitCaughtUp(TIMEOUT);
    double seconds = (System.nanoTime() - t0) / 1e9;
    check("replicator start", nw, db, expected, data);
    r.cleanup();
    drop(nw, db);
    return new ReplicatorRun(started, seconds, List.copyOf(indexBuilds));
  }

  /** {@code pg_dump | psql} into an empty database; returns seconds. */
  private double viaDump(PostgresServer old, PostgresServer nw, PgbenchDatabase data, Map<String, Long> expected)
      throws Exception {
    String db = nw.createDatabase("copy_dump");
    settle(old, nw);
    System.err.println("copy: pg_dump | psql...");
    long t0 = System.nanoTime();
    client.dumpAndRestore(old, SOURCE_DB, nw, db, MAINTENANCE_WORK_MEM);
    double seconds = (System.nanoTime() - t0) / 1e9;
    check("pg_dump | psql", nw, db, expected, data);
    drop(nw, db);
    return seconds;
  }

  /** A plain subscription with copy_data = true into the indexed schema, until ready and caught up; returns seconds. */
  private static double viaSubscription(PostgresServer old, PostgresServer nw, PgbenchDatabase data, Map<String, Long> expected)
      throws Exception {
    String db = nw.createDatabase("copy_subscription");
    try (Connection n = nw.connect(db)) {
      data.createSchema(n);
    }
    settle(old, nw);
    System.err.println("copy: plain subscription into the indexed schema...");
    double seconds;
    try (Connection o = old.connect(SOURCE_DB); Connection n = nw.connect(db)) {
      long t0 = System.nanoTime();
      LogicalReplication.publishAll(o, "bench_copy");
      LogicalReplication.subscribe(n, "bench_copy", old.libpqConnection(SOURCE_DB), "bench_copy",
          LogicalReplication.InitialData.COPY);
      awaitReady(n, "bench_copy", TIMEOUT);
      LogicalReplication.awaitSynced(o, n, "bench_copy", TIMEOUT);
      seconds = (System.nanoTime() - t0) / 1e9;
      check("plain subscription", nw, db, expected, data);
      LogicalReplication.drop(o, n, "bench_copy", Duration.ofSeconds(30));
      try (Statement s = o.createStatement()) {
        s.execute("DROP PUBLICATION bench_copy");
      }
    }
    drop(nw, db);
    return seconds;
  }

  private static String ratio(double r) {
    return String.format(Locale.ROOT, "%.2fx", r);
  }

  private static String met(boolean met) {
    return met ? "yes" : "NO";
  }

  /** Fails the benchmark if a target lacks rows or indexes: a method that copied less must not look fast. */
  private static void check(String method, PostgresServer server, String db, Map<String, Long> expected, PgbenchDatabase data)
      throws SQLException {
    try (Connection c = server.connect(db)) {
      Map<String, Long> actual = PgbenchDatabase.rowCounts(c);
      if (!actual.equals(expected)) {
        throw new IllegalStateException(method + " left " + actual + " on new, old has " + expected);
      }
      int indexes = PgbenchDatabase.accountIndexCount(c);
      if (indexes != data.accountIndexes()) {
        throw new IllegalStateException(method + " left " + indexes + " indexes on pgbench_accounts, expected " + data.accountIndexes());
      }
    }
  }

  /** Waits until every table of the subscription is in state {@code r} (ready). */
  private static void awaitReady(Connection nw, String subscription, Duration timeout)
      throws SQLException, InterruptedException, TimeoutException {
    try (PreparedStatement ps = nw.prepareStatement("SELECT count(*) FILTER (WHERE r.srsubstate <> 'r'), count(*)"
        + " FROM pg_subscription_rel r JOIN pg_subscription s ON s.oid = r.srsubid"
        + " WHERE s.subname = ? AND s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())")) {
      ps.setString(1, subscription);
      boolean ready = Poll.every(Duration.ofMillis(50)).within(timeout, () -> {
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          return rs.getLong(2) > 0 && rs.getLong(1) == 0;
        }
      });
      if (!ready) {
        if (Thread.interrupted()) {
          throw new InterruptedException();
        }
        throw new TimeoutException("subscription " + subscription + " did not reach state r on every table within " + timeout);
      }
    }
  }

  /**
   * Checkpoints both servers and waits until the kernel has written back every dirty page: the
   * servers run with {@code fsync = off}, so without this the first method would share the disk
   * with the write-back of the generated data (seen: its copy took twice as long).
   */
  private static void settle(PostgresServer old, PostgresServer nw) throws SQLException, IOException, InterruptedException {
    for (PostgresServer server : List.of(old, nw)) {
      try (Connection c = server.connect(); Statement s = c.createStatement()) {
        s.execute("CHECKPOINT");
      }
    }
    Process sync = new ProcessBuilder("sync").inheritIO().start();
    if (sync.waitFor() != 0) {
      throw new IllegalStateException("sync failed with exit code " + sync.exitValue());
    }
  }

  private static void drop(PostgresServer server, String db) throws SQLException {
    try (Connection c = server.connect(); Statement s = c.createStatement()) {
      s.execute("DROP DATABASE " + Sql.ident(db));
    }
  }
}
