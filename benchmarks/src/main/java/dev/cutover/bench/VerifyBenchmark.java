package dev.cutover.bench;

import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.verify.Verifier;
import dev.cutover.replicator.verify.VerifyReport;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresServer;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;

/**
 * {@code verify} on one pgbench-shaped database generated alike on old (12) and new (17), against
 * the same-run baseline of one full-table checksum per side, both sides at once: {@code SELECT
 * md5(string_agg(md5(row::text), '' ORDER BY key))}, the method verify used before. Rows per second
 * per side = rows compared / seconds, since each server hashes every row once. In {@code rounds}
 * alternated rounds, medians reported. Then, untimed, one row is changed on new and verify must
 * report exactly that row: a verify that compared less cannot look fast.
 *
 * <p>Also, for the record, candidate row hashes measured on new alone (one full scan each, no
 * parallel workers unless said): the row's text through md5 or {@code hashtextextended}, summed or
 * XORed ({@code bit_xor}, 14+), and the per-column hashes verify uses, with and without parallel
 * query.
 */
final class VerifyBenchmark {
  static final String DB = "verify_bench";
  private static final double TARGET_ROWS_PER_SECOND = 1_000_000;
  private static final String BASELINE = "SELECT count(*), md5(string_agg(md5(a::text), '' ORDER BY aid)) FROM pgbench_accounts a";

  private final long rows;
  private final int rounds;

  VerifyBenchmark(long rows, int rounds) {
    if (rounds < 1) {
      throw new IllegalArgumentException("rounds must be at least 1, not " + rounds);
    }
    this.rows = rows;
    this.rounds = rounds;
  }

  Report run(PostgresPair pair) throws Exception {
    PgbenchDatabase data = new PgbenchDatabase(rows, false);
    for (PostgresServer s : List.of(pair.oldServer(), pair.newServer())) {
      s.createDatabase(DB);
      try (Connection c = s.connect(DB)) {
        data.createAndFill(c);
      }
    }
    System.err.printf(Locale.ROOT, "verify: generated %,d accounts alike on PostgreSQL %d and %d%n", rows,
        pair.oldServer().majorVersion(), pair.newServer().majorVersion());
    Replicator r = Replicator.builder()
        .old(Endpoint.of(Side.OLD, pair.oldServer().jdbcUrl(DB), pair.oldServer().user(), pair.oldServer().password()))
        .nw(Endpoint.of(Side.NEW, pair.newServer().jdbcUrl(DB), pair.newServer().user(), pair.newServer().password()))
        .build();

    double[] verifySeconds = new double[rounds];
    double[] baselineSeconds = new double[rounds];
    long compared = 0;
    for (int round = 0; round < rounds; round++) {
      System.err.printf(Locale.ROOT, "verify: round %d of %d%n", round + 1, rounds);
      long t0 = System.nanoTime();
      String[] sums = bothSides(pair, BASELINE);
      baselineSeconds[round] = (System.nanoTime() - t0) / 1e9;
      if (!sums[0].equals(sums[1])) {
        throw new IllegalStateException("the baseline checksums differ, the data is not alike: " + Arrays.toString(sums));
      }
      VerifyReport report = r.verify(Verifier.Options.defaults());
      verifySeconds[round] = report.millis() / 1000.0;
      compared = report.rows();
      if (report.differences() != 0) {
        throw new IllegalStateException("verify found " + report.differences() + " difference(s) in alike data");
      }
    }
    requireFindsAChangedRow(pair, r);
    Map<String, Double> candidates = candidates(pair.newServer());

    double verify = Report.median(verifySeconds);
    double baseline = Report.median(baselineSeconds);
    double verifyRate = compared / verify;
    double baselineRate = rows / baseline;
    Report report = new Report("verify", "method", "seconds (median)", "rounds", "rows/s per side", "vs baseline", "target", "met");
    report.row("cutover-replicator verify", verify, rounds(verifySeconds), count(verifyRate),
        String.format(Locale.ROOT, "%.2fx", verifyRate / baselineRate), ">= 1,000,000 rows/s per side", verifyRate >= TARGET_ROWS_PER_SECOND ? "yes" : "NO");
    report.row("baseline: md5(string_agg(md5(row), '' ORDER BY key)), both sides at once", baseline, rounds(baselineSeconds),
        count(baselineRate), "1.00x", "", "");
    report.fact("data", String.format(Locale.ROOT, "pgbench-shaped, %,d accounts (int, int, int, char(84)) with a primary key,"
        + " generated alike on both servers; verify compared %,d rows (accounts, tellers, branches)", rows, compared));
    report.fact("servers", "PostgreSQL " + pair.oldServer().majorVersion() + " -> " + pair.newServer().majorVersion()
        + ", embedded, same machine, loopback");
    report.fact("rounds", rounds + ", each the baseline then verify; the median counts");
    report.fact("correctness (untimed)", "one row changed on new afterwards: verify reported exactly that row");
    report.fact("candidate row hashes on new alone (seconds for " + String.format(Locale.ROOT, "%,d", rows) + " rows, one scan)",
        candidates.entrySet().stream().map(e -> String.format(Locale.ROOT, "%s %.2f s (%s rows/s)", e.getKey(), e.getValue(),
            count(rows / e.getValue()))).collect(Collectors.joining("; ")));
    report.fact("target", "verify >= 1,000,000 rows/s per side");
    for (PostgresServer s : List.of(pair.oldServer(), pair.newServer())) {
      try (Connection c = s.connect(); Statement st = c.createStatement()) {
        st.execute("DROP DATABASE " + DB);
      }
    }
    return report;
  }

  /** Runs {@code sql} (one row, two columns) on both servers at once; returns each side's result. */
  private static String[] bothSides(PostgresPair pair, String sql) throws Exception {
    CompletableFuture<String> onNew = CompletableFuture.supplyAsync(() -> {
      try {
        return query(pair.newServer(), sql);
      } catch (SQLException e) {
        throw new IllegalStateException(e);
      }
    });
    String onOld = query(pair.oldServer(), sql);
    return new String[] {onOld, onNew.join()};
  }

  private static String query(PostgresServer server, String sql) throws SQLException {
    try (Connection c = server.connect(DB); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getString(1) + "/" + rs.getString(2);
    }
  }

  private void requireFindsAChangedRow(PostgresPair pair, Replicator r) throws Exception {
    long aid = Math.max(1, rows / 2);
    try (Connection n = pair.newServer().connect(DB); Statement s = n.createStatement()) {
      s.execute("UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = " + aid);
    }
    VerifyReport report = r.verify(Verifier.Options.defaults());
    List<String> found = new ArrayList<>();
    report.tables().forEach(t -> t.differences().forEach(d -> found.add(t.table() + " " + d.key() + " " + d.kind())));
    if (!found.equals(List.of("public.pgbench_accounts aid=" + aid + " different"))) {
      throw new IllegalStateException("verify should have found exactly aid=" + aid + " different, found " + found);
    }
  }

  /** Each candidate row hash over the whole accounts table on new, one after another, in seconds. */
  private static Map<String, Double> candidates(PostgresServer nw) throws SQLException {
    Map<String, String> sql = new LinkedHashMap<>();
    sql.put("md5(string_agg(md5(row::text) ORDER BY key))", BASELINE);
    sql.put("sum(('x' || left(md5(row::text), 16))::bit(64)::bigint)",
        "SELECT count(*), sum(('x' || left(md5(a::text), 16))::bit(64)::bigint) FROM pgbench_accounts a");
    sql.put("sum(hashtextextended(row::text, 0))", "SELECT count(*), sum(hashtextextended(a::text, 0)) FROM pgbench_accounts a");
    sql.put("bit_xor(hashtextextended(row::text, 0))", "SELECT count(*), bit_xor(hashtextextended(a::text, 0)) FROM pgbench_accounts a");
    String perColumn = "SELECT count(*), sum(coalesce(hashint8extended(aid::bigint, 1), -1) # coalesce(hashint8extended(bid::bigint, 2), -2)"
        + " # coalesce(hashint8extended(abalance::bigint, 3), -3) # coalesce(hashbpcharextended(filler, 4), -4)) FROM pgbench_accounts";
    sql.put("sum(per-column hashes) [verify's]", perColumn);
    Map<String, Double> out = new LinkedHashMap<>();
    try (Connection c = nw.connect(DB); Statement s = c.createStatement()) {
      s.execute("SET max_parallel_workers_per_gather = 0");
      for (Map.Entry<String, String> e : sql.entrySet()) {
        out.put(e.getKey(), timed(s, e.getValue()));
      }
      s.execute("SET max_parallel_workers_per_gather = 2");
      out.put("sum(per-column hashes), 2 parallel workers", timed(s, perColumn));
    }
    return out;
  }

  private static double timed(Statement s, String sql) throws SQLException {
    long t0 = System.nanoTime();
    try (ResultSet rs = s.executeQuery(sql)) {
      rs.next();
    }
    return (System.nanoTime() - t0) / 1e9;
  }

  private static String rounds(double[] values) {
    return Report.rounds("%.2f", values);
  }

  private static String count(double n) {
    return String.format(Locale.ROOT, "%,.0f", n);
  }
}
