package dev.cutover.replicator.verify;

import dev.cutover.common.Threads;
import dev.cutover.replicator.BoundedRead;
import dev.cutover.replicator.DistinctDatabases;
import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.Failure;
import dev.cutover.replicator.Names;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.apply.RelayProgress;
import dev.cutover.replicator.apply.Way;
import dev.cutover.replicator.capture.CaptureWays;
import dev.cutover.replicator.copy.LargeObjects;
import dev.cutover.replicator.replication.BoundedCatchUp;
import dev.cutover.replicator.replication.MigrationPair;
import dev.cutover.replicator.replication.ReplicationObjects;
import dev.cutover.replicator.replication.UncarriedTables;
import dev.cutover.replicator.sql.Catalog;
import dev.cutover.replicator.sql.Column;
import dev.cutover.replicator.sql.Parallel;
import dev.cutover.replicator.sql.KeyOperators;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.replicator.sql.TableInfo;
import dev.cutover.replicator.sql.TableName;
import dev.cutover.replicator.verify.VerifyReport.Difference;
import dev.cutover.replicator.verify.VerifyReport.TableResult;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * {@code verify}: compares every replicated table on both sides, and the large objects and
 * unlogged tables {@code start} copied (which replication does not keep up to date).
 *
 * <p>Each server hashes its own rows, both at once: a table with a single-column key is read in
 * one pass per side that groups the rows into ranges of the key (boundaries from a sample of the
 * source's keys, {@code width_bucket}) and sums a hash of each row per range ({@link RowHash});
 * only the ranges whose count or sum differ are narrowed, by halving at the median key until few
 * rows are left, which are compared row by row. A table with a composite key is summed whole first
 * and narrowed the same way; a table without a key is compared as a multiset of rows.
 *
 * <p>Rows written while verify runs can differ only because replication has not applied them yet.
 * So every difference is rechecked after replication has passed the moment it was found: a
 * barrier marker is written on the source and awaited on the target (replication applies in
 * commit order), then the differing rows are compared again, up to three rounds. Only what still
 * differs is reported. Without a running subscription nothing can pass, and differences are
 * reported as found.
 *
 * <p>Both sessions show values the same way ({@code TimeZone = UTC}, ISO dates, hex bytea,
 * {@code search_path = pg_catalog} for the names of oid alias types, every float digit), so a
 * row's text is the same on both servers for the same values; floats below the top level on
 * servers either side of 12, which print them otherwise, are rewritten ({@link FloatText}). Ranges use the database's collation
 * for text keys; {@code check} warns when the two databases' collations differ.
 */
public final class Verifier {
  /**
   * How to compare.
   *
   * @param chunkRows rows per first-level range
   * @param leafRows a differing range with at most this many rows is compared row by row
   * @param maxKeysPerTable differing keys listed per table (all are counted)
   * @param catchUpTimeout how long a barrier may take before differences are reported unrechecked
   * @param recheckRounds how many times a difference is rechecked
   * @param jobs tables compared in parallel
   */
  public record Options(long chunkRows, int leafRows, int maxKeysPerTable, Duration catchUpTimeout, int recheckRounds, int jobs) {
    public Options {
      if (chunkRows < 1 || leafRows < 1 || maxKeysPerTable < 0 || recheckRounds < 0 || jobs < 1) {
        throw new IllegalArgumentException("verify options must be positive: " + chunkRows + ", " + leafRows + ", "
            + maxKeysPerTable + ", " + recheckRounds + ", " + jobs);
      }
    }

    public static Options defaults() {
      return new Options(DEFAULT_CHUNK_ROWS, 256, 100, Duration.ofSeconds(30), 3, 2);
    }
  }

  /** Rows per first-level range by default. */
  public static final long DEFAULT_CHUNK_ROWS = 100_000;
  private static final int KEYLESS_ROW_DIFF_LIMIT = 100_000;
  /** Sampled keys per range, to place the range boundaries. */
  private static final int SAMPLES_PER_RANGE = 10;
  private static final int MAX_RANGES = 100_000;
  private static final String SEP = "\u0001";

  private final Endpoint sourceEp;
  private final Endpoint targetEp;
  private final Options options;
  private final boolean replicating;
  /**
   * With trigger capture or a relay, the way whose apply process must run for a barrier to pass,
   * asked when rechecking (it may start or stop while the tables are compared); null otherwise.
   */
  private final String applyWay;
  private final VerifyProgress progress;
  /** Runs the target's half of each comparison while the calling thread runs the source's. */
  private final ExecutorService targetSide = Threads.pool("cutover-verify-target");
  /** Whether both servers have the extended hash functions (11+), see {@link RowHash}. */
  private final boolean extendedHashes;
  /**
   * Whether both servers print floats the same way with {@code extra_float_digits = 3}: both before
   * 12 (17 or 18 digits) or both 12 or later (the shortest exact text); else floats below the top
   * level are compared as {@link FloatText} rewrites them.
   */
  private final boolean floatsPrintAlike;
  /**
   * Whether the servers' encodings differ (LATIN1 and UTF8, say): the same text is other bytes on
   * each, so rows are hashed by their text's UTF-8 form ({@link RowHash}).
   */
  private final boolean byUtf8;

  private Verifier(Endpoint source, Endpoint target, Options options, boolean replicating, String applyWay,
      VerifyProgress progress, boolean extendedHashes, boolean floatsPrintAlike, boolean byUtf8) {
    this.sourceEp = source;
    this.targetEp = target;
    this.options = options;
    this.replicating = replicating;
    this.applyWay = applyWay;
    this.progress = progress;
    this.extendedHashes = extendedHashes;
    this.floatsPrintAlike = floatsPrintAlike;
    this.byUtf8 = byUtf8;
  }

  /** {@link #run(Endpoint, Endpoint, Names, Options, VerifyProgress)} without anyone watching. */
  public static VerifyReport run(Endpoint old, Endpoint nw, Names names, Options options) throws Exception {
    return run(old, nw, names, options, new VerifyProgress());
  }

  /**
   * Verifies in the direction replication runs: old → new while forward exists, else new → old
   * while reverse does; with trigger capture, from the serving side (see {@link CaptureWays}),
   * every captured table; {@code progress} can be polled from another thread meanwhile.
   */
  public static VerifyReport run(Endpoint old, Endpoint nw, Names names, Options options, VerifyProgress progress) throws Exception {
    Endpoint source = old;
    Endpoint target = nw;
    boolean replicating;
    String applyWay = null;
    List<TableName> tables;
    List<TableName> unlogged;
    UncarriedTables carriage;
    boolean extended;
    boolean floatsPrintAlike;
    boolean byUtf8;
    try (Connection o = old.connect(); Connection n = nw.connect()) {
      DistinctDatabases.require(o, n);
      // Another migration's database for a side would be compared as if it were this one's (r25).
      MigrationPair.requireOnePair(o, n, names, "verify");
      Way captured = CaptureWays.serving(o, n, old, nw);
      if (captured != null) {
        source = captured.source();
        target = captured.target();
        replicating = true;
        applyWay = captured.name();
      } else if (ReplicationObjects.subscriptionExists(n, names.forward())) {
        replicating = true;
      } else if (RelayProgress.armed(n)) {
        replicating = true;
        applyWay = Way.FORWARD;
      } else if (ReplicationObjects.subscriptionExists(o, names.reverse())) {
        source = nw;
        target = old;
        replicating = true;
      } else {
        replicating = false;
      }
      Connection s = source == old ? o : n;
      String publication = source == old ? names.forward() : names.reverse();
      carriage = captured != null ? UncarriedTables.captured(s) : UncarriedTables.published(s,
          source.side().label(), target.side().label(), publication, ReplicationObjects.subscriptionExists(source == old ? n : o,
              publication));
      tables = carriage.carried();
      // Trigger capture's start copies no unlogged tables, so there is nothing of them to compare.
      unlogged = captured != null ? List.of() : Catalog.unloggedTables(s);
      extended = Sql.majorVersion(o) >= 11 && Sql.majorVersion(n) >= 11;
      floatsPrintAlike = Sql.majorVersion(o) >= 12 == Sql.majorVersion(n) >= 12;
      byUtf8 = !Sql.string(o, "SHOW server_encoding").equals(Sql.string(n, "SHOW server_encoding"));
      long estimate = 0;
      for (TableName t : tables) {
        estimate += Math.max(0, Sql.number(s, "SELECT reltuples::bigint FROM pg_class WHERE oid = ?::regclass", t.regclass()));
      }
      progress.planned(tables.size() + unlogged.size(), estimate);
    }
    Verifier v = new Verifier(source, target, options, replicating, applyWay, progress, extended, floatsPrintAlike, byUtf8);
    try {
      return v.verify(tables, unlogged, carriage);
    } finally {
      v.targetSide.shutdownNow();
    }
  }

  private record Pair(Connection source, Connection target) implements AutoCloseable {
    @Override
    public void close() throws SQLException {
      try {
        source.close();
      } finally {
        target.close();
      }
    }
  }

  private Pair open() throws Exception {
    Connection s = sourceEp.connect();
    try {
      Connection t = targetEp.connect();
      for (Connection c : new Connection[] {s, t}) {
        Sql.execute(c, "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres';"
            + " SET bytea_output = 'hex'; SET extra_float_digits = 3; SET search_path = pg_catalog");
      }
      return new Pair(s, t);
    } catch (Exception e) {
      s.close();
      throw e;
    }
  }

  private VerifyReport verify(List<TableName> tables, List<TableName> unlogged, UncarriedTables carriage) throws Exception {
    long t0 = System.nanoTime();
    Map<TableName, Compared> results = Collections.synchronizedMap(new LinkedHashMap<>());
    Map<TableName, Compared> snapshotOnly = Collections.synchronizedMap(new LinkedHashMap<>());
    AtomicLong rows = new AtomicLong();
    List<TableName> all = new ArrayList<>(tables);
    all.addAll(unlogged);
    Parallel.run("cutover-verify", options.jobs(), all, this::open, (pair, table) -> {
      Compared c = compareTable(pair, table);
      rows.addAndGet(c.sourceRows);
      (unlogged.contains(table) ? snapshotOnly : results).put(table, c);
      progress.tableDone(c.sourceRows);
    });
    List<LargeObjects.Difference> largeObjectDifferences;
    long largeObjects;
    try (Pair pair = open()) {
      largeObjects = LargeObjects.count(pair.source);
      largeObjectDifferences = largeObjects > 0 || LargeObjects.count(pair.target) > 0
          ? LargeObjects.compare(pair.source, pair.target) : List.of();
    }
    boolean rechecked = false;
    String note = "";
    boolean anyDifference = results.values().stream().anyMatch(Compared::differs);
    long found = results.values().stream().mapToLong(c -> c.count + c.missingColumns.size()).sum();
    if (anyDifference) {
      if (!replicating) {
        note = "replication is not running, so differences were not rechecked";
      } else {
        try (Pair pair = open()) {
          Optional<String> noApply = applyWay == null ? Optional.empty()
              : Way.noApply(pair.target, applyWay, targetEp.side().label());
          rechecked = noApply.isEmpty();
          note = noApply.map(why -> why + ", so differences were not rechecked").orElse("");
          for (int round = 0; rechecked && round < options.recheckRounds()
              && results.values().stream().anyMatch(Compared::differs); round++) {
            boolean passed = BoundedCatchUp.await(pair.source, pair.target, options.catchUpTimeout());
            for (Compared c : results.values()) {
              passed = passed && (!c.differs() || recheck(pair, c));
            }
            if (!passed) {
              rechecked = false;
              Optional<String> silent = BoundedRead.silent(Map.of(sourceEp.side().label(), pair.source,
                  targetEp.side().label(), pair.target));
              Optional<String> failing = silent.isPresent() || applyWay == null ? Optional.empty()
                  : Way.failing(pair.target, applyWay, targetEp.side().label());
              note = silent.map(side -> side + " did not answer within " + options.catchUpTimeout().toMillis() + " ms during the"
                  + " recheck (" + BoundedRead.SILENCE + "), so differences are reported as found")
                  .orElse("replication did not pass a barrier within " + options.catchUpTimeout().toMillis()
                      + " ms" + failing.map(f -> " (" + f + ")").orElse("") + ", so differences are reported as found");
              break;
            }
          }
        }
      }
    }
    List<TableResult> out = results(tables, results);
    long remaining = out.stream().mapToLong(TableResult::differenceCount).sum();
    return new VerifyReport(sourceEp.side().label(), targetEp.side().label(), out, rows.get(),
        (System.nanoTime() - t0) / 1_000_000, rechecked, note, Math.max(0, found - remaining), results(unlogged, snapshotOnly),
        largeObjects, largeObjectDifferences, carriage.uncarried().stream().map(TableName::toString).toList(),
        carriage.remedy());
  }

  private static List<TableResult> results(List<TableName> tables, Map<TableName, Compared> results) {
    List<TableResult> out = new ArrayList<>();
    for (TableName t : tables) {
      Compared c = results.get(t);
      if (c != null) {
        List<Difference> differences = new ArrayList<>();
        c.missingColumns.forEach(col -> differences.add(new Difference(col, "column-missing-on-target")));
        differences.addAll(c.differences.values());
        out.add(new TableResult(t.toString(), c.info == null ? List.of() : c.info.key(), c.sourceRows, c.targetRows, c.ranges,
            c.count + c.missingColumns.size(), List.copyOf(differences), c.millis, List.copyOf(c.missingColumns),
            List.copyOf(c.extraColumns)));
      }
    }
    return out;
  }

  /** One table's comparison, kept for the recheck. */
  private final class Compared {
    final TableName table;
    TableInfo info;
    String rowText;
    /** md5 of {@link #rowText}, by its UTF-8 form where the servers' encodings differ. */
    String rowDigest;
    /** {@code count(*), sum(row hash)} over the rows both sides have columns for ({@link RowHash}). */
    String aggregate;
    long sourceRows;
    long targetRows;
    int ranges;
    long count;
    long millis;
    /** Listed differences by key (map key: the key's values joined, or the row's md5 for key-less tables). */
    final Map<String, Difference> differences = new LinkedHashMap<>();
    final Map<String, List<String>> keyValues = new HashMap<>();
    /** Key-less tables: every differing row's md5, with its text, for the recheck. */
    final Map<String, String> differingRows = new HashMap<>();
    /** Columns the source has and the target lacks, and the other way round. */
    final List<String> missingColumns = new ArrayList<>();
    final List<String> extraColumns = new ArrayList<>();

    Compared(TableName table) {
      this.table = table;
    }

    /** Whether rows differ or the target lacks a column (a schema change on its way may bring it). */
    boolean differs() {
      return count > 0 || !missingColumns.isEmpty();
    }

    /** Takes over what a comparison made afresh found. */
    void take(Compared again) {
      info = again.info;
      rowText = again.rowText;
      rowDigest = again.rowDigest;
      aggregate = again.aggregate;
      sourceRows = again.sourceRows;
      targetRows = again.targetRows;
      ranges = again.ranges;
      count = again.count;
      differences.clear();
      differences.putAll(again.differences);
      keyValues.clear();
      keyValues.putAll(again.keyValues);
      differingRows.clear();
      differingRows.putAll(again.differingRows);
      missingColumns.clear();
      missingColumns.addAll(again.missingColumns);
      extraColumns.clear();
      extraColumns.addAll(again.extraColumns);
    }

    void add(String mapKey, List<String> values, Difference d) {
      count++;
      if (differences.size() < options.maxKeysPerTable()) {
        differences.put(mapKey, d);
        keyValues.put(mapKey, values);
      }
    }
  }

  private Compared compareTable(Pair p, TableName table) throws SQLException {
    long t0 = System.nanoTime();
    Compared c = new Compared(table);
    Optional<TableInfo> s = Catalog.describe(p.source, table);
    Optional<TableInfo> t = Catalog.describe(p.target, table);
    if (s.isEmpty()) {
      return c;
    }
    c.info = s.get();
    if (t.isEmpty()) {
      c.sourceRows = Sql.number(p.source, "SELECT count(*) FROM ONLY " + table.quoted());
      c.add("*", List.of(), new Difference("*", "table-missing-on-target"));
      // A missing table is a difference whatever its rows: its rows, or one for an empty table.
      c.count = Math.max(1, c.sourceRows);
      c.millis = (System.nanoTime() - t0) / 1_000_000;
      return c;
    }
    Map<String, String> floatTexts = floatsPrintAlike ? Map.of() : FloatText.of(p.source, c.info, t.get());
    List<String> cols = new ArrayList<>();
    for (Column col : c.info.columns()) {
      if (t.get().column(col.name()) != null) {
        cols.add(floatTexts.getOrDefault(col.name(), compared(col)));
      } else {
        // Rows are compared over the columns both sides have; the values of this one are not on
        // the target at all (r24: it was left out without a word, and verify said "same").
        c.missingColumns.add(col.name());
      }
    }
    for (Column col : t.get().columns()) {
      if (c.info.column(col.name()) == null) {
        c.extraColumns.add(col.name());
      }
    }
    c.rowText = "ROW(" + String.join(", ", cols) + ")::text";
    c.rowDigest = RowHash.digest(c.rowText, byUtf8);
    c.aggregate = RowHash.aggregate(RowHash.expression(c.info, t.get(), extendedHashes, byUtf8, floatTexts));
    // The key as describe chooses it, so never a DEFERRABLE one: such a key is unique in every
    // committed state of the source, but a target written in replica mode checks it at no point,
    // and rows compared by a key that repeats there hide the repeat; a multiset of rows does not.
    if (c.info.hasKey()) {
      compareByKey(p, c);
    } else {
      compareWhole(p, c);
    }
    c.millis = (System.nanoTime() - t0) / 1_000_000;
    return c;
  }

  /**
   * A column as the row text shows it. Floats by their bits: before PostgreSQL 12 their text
   * has other digits than 12 and later print, so equal values could compare different across
   * versions (floats below the top level: {@link FloatText}).
   */
  static String compared(Column col) {
    return switch (col.type()) {
      case "double precision" -> "float8send(" + Sql.ident(col.name()) + ")";
      case "real" -> "float4send(" + Sql.ident(col.name()) + ")";
      default -> Sql.ident(col.name());
    };
  }

  // ---- tables with a key ----

  private String keyList(TableInfo info) {
    return info.key().stream().map(Sql::ident).collect(Collectors.joining(", "));
  }

  /**
   * The key columns as text, aliased so that {@code ORDER BY} on the key names sorts by the
   * columns themselves, not by these text outputs.
   */
  private String keyTexts(TableInfo info) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < info.key().size(); i++) {
      out.add(Sql.ident(info.key().get(i)) + "::text AS cutover_k" + i);
    }
    return String.join(", ", out);
  }

  /**
   * {@code (k1, k2) >= (?::t1, ?::t2)}; the key's row form works for one column too. With the key
   * index's operator ({@link KeyOperators}), both sides cast to its type; where the key's columns
   * take operators of different schemas (citext beside an integer), which one row comparison
   * cannot name, pg_catalog's: every range is still bounded by one order, so ranges never overlap.
   */
  private String bound(TableInfo info, Function<KeyOperators, String> which) {
    List<String> ops = info.key().stream().map(k -> which.apply(info.keyOperators(k))).distinct().toList();
    String op = ops.size() == 1 ? ops.get(0) : which.apply(KeyOperators.BUILT_IN);
    String columns = info.key().stream().map(k -> info.keyOperators(k).cast(Sql.ident(k))).collect(Collectors.joining(", "));
    String params = info.key().stream().map(k -> info.keyOperators(k).cast("?::" + info.column(k).type())).collect(Collectors.joining(", "));
    return "(" + columns + ") " + op + " (" + params + ")";
  }

  private String predicate(TableInfo info, List<String> lo, List<String> hi) {
    List<String> parts = new ArrayList<>();
    if (lo != null) {
      parts.add(bound(info, KeyOperators::atLeast));
    }
    if (hi != null) {
      parts.add(bound(info, KeyOperators::less));
    }
    return parts.isEmpty() ? "true" : String.join(" AND ", parts);
  }

  private static int bind(PreparedStatement ps, int index, List<String> lo, List<String> hi) throws SQLException {
    for (List<String> b : java.util.Arrays.asList(lo, hi)) {
      if (b != null) {
        for (String v : b) {
          ps.setString(index++, v);
        }
      }
    }
    return index;
  }

  /**
   * First level: one pass per side, both at once, summing row hashes per range of the key; then
   * only the ranges that differ are narrowed. A composite key is summed as one range first.
   */
  private void compareByKey(Pair p, Compared c) throws SQLException {
    TableInfo info = c.info;
    List<String> boundaries = info.key().size() == 1 ? boundaries(p.source, c) : List.of();
    String table = "FROM ONLY " + info.name().quoted();
    Map<Integer, Sum> src;
    Map<Integer, Sum> tgt;
    if (boundaries.isEmpty()) {
      String sql = "SELECT 0, " + c.aggregate + " " + table;
      Map<Integer, Sum>[] both = onBothSides(p, sql, null);
      src = both[0];
      tgt = both[1];
    } else {
      String key = Sql.ident(info.key().get(0));
      // Grouped by an xid, a type that can be hashed but not sorted: the planner estimates as many
      // groups as keys, and with a sortable key PostgreSQL 12 would sort every row (on disk) rather
      // than hash a few dozen groups. The hash table stays within work_mem on every version.
      String sql = "SELECT width_bucket(" + key + ", ?::text[]::" + info.column(info.key().get(0)).type() + "[])::text::xid, "
          + c.aggregate + " " + table + " GROUP BY 1";
      Map<Integer, Sum>[] both = onBothSides(p, sql, boundaries);
      src = both[0];
      tgt = both[1];
    }
    c.ranges = boundaries.size() + 1;
    java.util.TreeSet<Integer> buckets = new java.util.TreeSet<>(src.keySet());
    buckets.addAll(tgt.keySet());
    for (int b : buckets) {
      Sum s = src.getOrDefault(b, Sum.EMPTY);
      Sum t = tgt.getOrDefault(b, Sum.EMPTY);
      c.sourceRows += s.rows;
      c.targetRows += t.rows;
      if (!s.equals(t)) {
        // width_bucket: 0 below the first boundary, i in [boundary i, boundary i+1), n at or above the last.
        List<String> lo = b == 0 ? null : List.of(boundaries.get(b - 1));
        List<String> hi = b >= boundaries.size() ? null : List.of(boundaries.get(b));
        bisect(p, c, lo, hi, s, t);
      }
    }
  }

  /**
   * Range boundaries for a single-column key: every so many keys of a sample of the source
   * ({@code TABLESAMPLE SYSTEM}, whole pages, so it costs a fraction of a scan), or none when the
   * table fits in one range.
   */
  private List<String> boundaries(Connection source, Compared c) throws SQLException {
    long estimate = Sql.number(source, "SELECT reltuples::bigint FROM pg_class WHERE oid = ?::regclass", c.info.name().regclass());
    if (estimate <= options.chunkRows()) {
      return List.of();
    }
    long ranges = Math.min(MAX_RANGES, (estimate + options.chunkRows() - 1) / options.chunkRows());
    double percent = Math.min(100.0, 100.0 * ranges * SAMPLES_PER_RANGE / estimate);
    String key = Sql.ident(c.info.key().get(0));
    List<String> sample;
    while (true) {
      sample = Sql.strings(source, "SELECT " + key + "::text FROM (SELECT " + key + " FROM ONLY " + c.info.name().quoted()
          + " TABLESAMPLE SYSTEM (" + String.format(java.util.Locale.ROOT, "%.6f", percent) + ") ORDER BY 1) s");
      // SYSTEM picks whole pages at random: on a table of a few hundred pages a small percent can
      // pick none, which would leave the whole table as one range. Sample more until it has one row per range.
      if (sample.size() >= ranges || percent >= 100.0) {
        break;
      }
      percent = Math.min(100.0, percent * 4);
    }
    List<String> out = new ArrayList<>();
    long every = Math.max(1, sample.size() / ranges);
    for (int i = (int) every; i < sample.size(); i += every) {
      String b = sample.get(i);
      if (out.isEmpty() || !out.get(out.size() - 1).equals(b)) {
        out.add(b);
      }
    }
    return out;
  }

  /** Runs one aggregate query on both sides at once: the source on this thread, the target on another. */
  @SuppressWarnings("unchecked")
  private Map<Integer, Sum>[] onBothSides(Pair p, String sql, List<String> boundaries) throws SQLException {
    java.util.concurrent.Future<Map<Integer, Sum>> target = targetSide.submit(() -> sums(p.target, sql, boundaries));
    Map<Integer, Sum> source;
    try {
      source = sums(p.source, sql, boundaries);
    } catch (SQLException e) {
      target.cancel(true);
      throw e;
    }
    try {
      return new Map[] {source, target.get()};
    } catch (java.util.concurrent.ExecutionException e) {
      if (e.getCause() instanceof SQLException se) {
        throw se;
      }
      throw new IllegalStateException(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SQLException("verify was interrupted", "57014", e);
    }
  }

  private static Map<Integer, Sum> sums(Connection conn, String sql, List<String> boundaries) throws SQLException {
    Map<Integer, Sum> out = new HashMap<>();
    try (PreparedStatement ps = conn.prepareStatement(sql)) {
      if (boundaries != null) {
        ps.setArray(1, conn.createArrayOf("text", boundaries.toArray()));
      }
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.put(rs.getInt(1), new Sum(rs.getLong(2), rs.getString(3)));
        }
      }
    }
    return out;
  }

  /** A range's row count and the sum of its row hashes. */
  private record Sum(long rows, String hashes) {
    static final Sum EMPTY = new Sum(0, "0");
  }

  private Sum sum(Connection conn, Compared c, List<String> lo, List<String> hi) throws SQLException {
    try (PreparedStatement ps = conn.prepareStatement("SELECT " + c.aggregate + " FROM ONLY " + c.info.name().quoted()
        + " WHERE " + predicate(c.info, lo, hi))) {
      bind(ps, 1, lo, hi);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return new Sum(rs.getLong(1), rs.getString(2));
      }
    }
  }

  private void bisect(Pair p, Compared c, List<String> lo, List<String> hi, Sum src, Sum tgt) throws SQLException {
    long n = Math.max(src.rows, tgt.rows);
    if (n <= options.leafRows()) {
      rowDiff(p, c, lo, hi);
      return;
    }
    Connection bigger = src.rows >= tgt.rows ? p.source : p.target;
    List<String> mid;
    try (PreparedStatement ps = bigger.prepareStatement("SELECT " + keyTexts(c.info) + " FROM ONLY " + c.info.name().quoted()
        + " WHERE " + predicate(c.info, lo, hi) + " ORDER BY " + keyList(c.info) + " OFFSET ? LIMIT 1")) {
      int i = bind(ps, 1, lo, hi);
      ps.setLong(i, n / 2);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          rowDiff(p, c, lo, hi);
          return;
        }
        mid = values(rs, c.info.key().size(), 1);
      }
    }
    if (mid.equals(lo)) {
      rowDiff(p, c, lo, hi);
      return;
    }
    for (Range half : List.of(new Range(lo, mid), new Range(mid, hi))) {
      Sum s = sum(p.source, c, half.lo(), half.hi());
      Sum t = sum(p.target, c, half.lo(), half.hi());
      if (!s.equals(t)) {
        bisect(p, c, half.lo(), half.hi(), s, t);
      }
    }
  }

  /** Keys from {@code lo} (inclusive, null: unbounded) to {@code hi} (exclusive, null: unbounded). */
  private record Range(List<String> lo, List<String> hi) {}

  private void rowDiff(Pair p, Compared c, List<String> lo, List<String> hi) throws SQLException {
    Map<String, String> src = rows(p.source, c, lo, hi);
    Map<String, String> tgt = rows(p.target, c, lo, hi);
    for (Map.Entry<String, String> e : src.entrySet()) {
      String other = tgt.get(e.getKey());
      if (other == null) {
        c.add(e.getKey(), split(e.getKey()), new Difference(display(c.info, e.getKey()), "missing-on-target"));
      } else if (!other.equals(e.getValue())) {
        c.add(e.getKey(), split(e.getKey()), new Difference(display(c.info, e.getKey()), "different"));
      }
    }
    for (String k : tgt.keySet()) {
      if (!src.containsKey(k)) {
        c.add(k, split(k), new Difference(display(c.info, k), "extra-on-target"));
      }
    }
  }

  private Map<String, String> rows(Connection conn, Compared c, List<String> lo, List<String> hi) throws SQLException {
    Map<String, String> out = new LinkedHashMap<>();
    int k = c.info.key().size();
    try (PreparedStatement ps = conn.prepareStatement("SELECT " + keyTexts(c.info) + ", " + c.rowDigest + " AS cutover_h FROM ONLY "
        + c.info.name().quoted() + " WHERE " + predicate(c.info, lo, hi) + " ORDER BY " + keyList(c.info))) {
      bind(ps, 1, lo, hi);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.put(String.join(SEP, values(rs, k, 1)), rs.getString(k + 1));
        }
      }
    }
    return out;
  }

  private static List<String> values(ResultSet rs, int n, int first) throws SQLException {
    List<String> v = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      v.add(rs.getString(first + i));
    }
    return v;
  }

  private static List<String> split(String joined) {
    return List.of(joined.split(SEP, -1));
  }

  private static String display(TableInfo info, String joined) {
    List<String> v = split(joined);
    if (info.key().size() == 1) {
      return info.key().get(0) + "=" + v.get(0);
    }
    return "(" + String.join(", ", info.key()) + ")=(" + String.join(", ", v) + ")";
  }

  // ---- tables without a key ----

  private void compareWhole(Pair p, Compared c) throws SQLException {
    c.ranges = 1;
    Map<Integer, Sum>[] both = onBothSides(p, "SELECT 0, " + c.aggregate + " FROM ONLY " + c.info.name().quoted(), null);
    Sum src = both[0].getOrDefault(0, Sum.EMPTY);
    Sum tgt = both[1].getOrDefault(0, Sum.EMPTY);
    c.sourceRows = src.rows;
    c.targetRows = tgt.rows;
    if (!src.equals(tgt)) {
      multisetDiff(p, c);
    }
  }

  private void multisetDiff(Pair p, Compared c) throws SQLException {
    if (Math.max(c.sourceRows, c.targetRows) > KEYLESS_ROW_DIFF_LIMIT) {
      c.add("*", List.of(), new Difference("(table without a key: " + c.sourceRows + " rows on source, " + c.targetRows
          + " on target, contents differ)", "different"));
      return;
    }
    Map<String, Integer> src = multiset(p.source, c);
    Map<String, Integer> tgt = multiset(p.target, c);
    Map<String, String> text = new HashMap<>();
    texts(p.source, c, text);
    texts(p.target, c, text);
    java.util.Set<String> hashes = new java.util.HashSet<>(src.keySet());
    hashes.addAll(tgt.keySet());
    for (String h : hashes) {
      if (!src.getOrDefault(h, 0).equals(tgt.getOrDefault(h, 0))) {
        c.differingRows.put(h, text.get(h));
      }
    }
    listRowDifferences(c, src, tgt);
  }

  /** Lists, per differing row, the copies one side has more than the other. */
  private void listRowDifferences(Compared c, Map<String, Integer> src, Map<String, Integer> tgt) {
    for (Map.Entry<String, String> row : c.differingRows.entrySet()) {
      int diff = src.getOrDefault(row.getKey(), 0) - tgt.getOrDefault(row.getKey(), 0);
      for (int i = 0; i < Math.abs(diff); i++) {
        c.add(row.getKey() + (diff > 0 ? "#" : "#x") + i, List.of(),
            new Difference(row.getValue(), diff > 0 ? "missing-on-target" : "extra-on-target"));
      }
    }
  }

  /**
   * Rechecks a key-less table's differing rows as the keyed recheck does: counts on the source,
   * then a barrier, then counts on the target. Replication applies in commit order, so a row
   * that was only in flight now matches; rows written since do not matter, as only the rows
   * found differing are counted.
   *
   * @return false when the barrier did not pass in time (the differences stay as found)
   */
  private boolean recheckKeyless(Pair p, Compared c) throws SQLException {
    Map<String, Integer> src = rowCounts(p.source, c);
    if (!BoundedCatchUp.await(p.source, p.target, options.catchUpTimeout())) {
      return false;
    }
    Map<String, Integer> tgt = rowCounts(p.target, c);
    c.differences.clear();
    c.keyValues.clear();
    c.count = 0;
    c.differingRows.keySet().removeIf(h -> src.getOrDefault(h, 0).equals(tgt.getOrDefault(h, 0)));
    listRowDifferences(c, src, tgt);
    return true;
  }

  private static Map<String, Integer> rowCounts(Connection conn, Compared c) throws SQLException {
    Map<String, Integer> out = new HashMap<>();
    try (PreparedStatement ps = conn.prepareStatement("SELECT " + c.rowDigest + ", count(*) FROM ONLY "
        + c.info.name().quoted() + " WHERE " + c.rowDigest + " = ANY(?) GROUP BY 1")) {
      ps.setArray(1, conn.createArrayOf("text", c.differingRows.keySet().toArray()));
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.put(rs.getString(1), rs.getInt(2));
        }
      }
    }
    return out;
  }

  private static Map<String, Integer> multiset(Connection conn, Compared c) throws SQLException {
    Map<String, Integer> out = new HashMap<>();
    try (PreparedStatement ps = conn.prepareStatement("SELECT " + c.rowDigest + " FROM ONLY " + c.info.name().quoted());
        ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        out.merge(rs.getString(1), 1, Integer::sum);
      }
    }
    return out;
  }

  private static void texts(Connection conn, Compared c, Map<String, String> into) throws SQLException {
    try (PreparedStatement ps = conn.prepareStatement("SELECT " + c.rowDigest + ", left(" + c.rowText + ", 200) FROM ONLY "
        + c.info.name().quoted()); ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        into.putIfAbsent(rs.getString(1), rs.getString(2));
      }
    }
  }

  // ---- recheck ----

  /** Rechecks one table's differences after a barrier passed; false when a key-less table's own barrier did not pass in time. */
  private boolean recheck(Pair p, Compared c) throws SQLException {
    if (c.info == null) {
      return true;
    }
    if (c.differences.containsKey("*") || !c.missingColumns.isEmpty()) {
      // The table or a column was missing on the target: a schema change in flight may have brought
      // it since, and the rows are compared over its columns then.
      c.take(compareTable(p, c.table));
      return true;
    }
    if (!c.info.hasKey()) {
      return recheckKeyless(p, c);
    }
    long unlisted = c.count - c.differences.size();
    Map<String, Difference> still = new LinkedHashMap<>();
    for (Map.Entry<String, Difference> e : c.differences.entrySet()) {
      List<String> key = c.keyValues.get(e.getKey());
      String s = rowHash(p.source, c, key);
      String t = rowHash(p.target, c, key);
      if (s == null && t == null || s != null && s.equals(t)) {
        continue;
      }
      String kind = s == null ? "extra-on-target" : t == null ? "missing-on-target" : "different";
      still.put(e.getKey(), new Difference(e.getValue().key(), kind));
    }
    c.differences.clear();
    c.differences.putAll(still);
    c.count = unlisted + still.size();
    return true;
  }

  private String rowHash(Connection conn, Compared c, List<String> key) throws SQLException {
    // Found by the key's own equality (its index), then by its text under collation "C", as rows()
    // matched the sides: under a nondeterministic collation 'CAFE' equals 'Café', another key there.
    String sameText = IntStream.range(0, key.size()).mapToObj(i -> Sql.ident(c.info.key().get(i)) + "::text COLLATE \"C\" = ?")
        .collect(Collectors.joining(" AND "));
    try (PreparedStatement ps = conn.prepareStatement("SELECT " + c.rowDigest + " FROM ONLY " + c.info.name().quoted()
        + " WHERE " + bound(c.info, KeyOperators::equal) + " AND " + sameText)) {
      for (int i = 0; i < key.size(); i++) {
        ps.setString(i + 1, key.get(i));
        ps.setString(key.size() + i + 1, key.get(i));
      }
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getString(1) : null;
      }
    }
  }

  /** Fails with {@link Failure#DIFFERENCES} when the report has any. */
  public static void requireNoDifferences(VerifyReport report) throws ReplicatorException {
    if (report.differences() > 0) {
      throw new ReplicatorException(Failure.DIFFERENCES, report.differences() + " difference(s) between " + report.source()
          + " and " + report.target(), "see the listed keys and columns; a row changed by hand on the target must be fixed by hand,"
          + " and a column the target lacks added there (`cutover-replicator status` prints the statement) and its values brought over");
    }
  }
}
