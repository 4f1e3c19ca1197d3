package dev.cutover.bench;

import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.capture.Capture;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.replication.StartOptions;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * What one captured write costs on old, taken apart: the same TPC-B transaction on one connection
 * with no trigger, with an empty plpgsql AFTER ROW trigger on its four tables, with that trigger
 * making the apply-token check the capture function makes, with {@code row_to_json(NEW)} added,
 * with the row inserted into a log table shaped like the change log (without, then with its txid
 * index), and with the real capture triggers ({@code start --capture triggers}, apply not running).
 *
 * <p>The figure is the backend's own CPU time per transaction ({@code /proc/PID/schedstat} of
 * {@code pg_backend_pid()}, nanoseconds: the server runs on this machine), which others' load on a
 * shared machine moves far less than throughput; the client's wall time per transaction is shown
 * beside it. One connection, so nothing waits for a lock. Variants are measured in turn, round
 * after round, each after a warm-up on a fresh connection (plans and plpgsql compiled); the
 * median of the rounds counts. "Fewer tx/s" is {@code 1 - none / variant} of the CPU time: what a
 * writer bound by its backend's CPU would lose.
 */
final class CaptureCostBenchmark {
  static final String DB = "capture_cost";
  private static final String TOKEN_CHECK = """
        IF pg_catalog.current_setting('cutover.apply_token', true) OPERATOR(pg_catalog.<>) '' THEN
          IF pg_catalog.md5(pg_catalog.current_setting('cutover.apply_token', true)) OPERATOR(pg_catalog.=)
              'd41d8cd98f00b204e9800998ecf8427e' THEN RETURN NULL; END IF;
        END IF;
      """;

  /** The log tables of the variants that insert, shaped like {@code cutover.change_log_0} (CaptureSchema). */
  private static final String[] LOG_DDL = {
      "CREATE SEQUENCE bench_cc_seq",
      "CREATE TABLE bench_cc_log (seq bigint NOT NULL DEFAULT nextval('bench_cc_seq'), txid bigint NOT NULL DEFAULT txid_current(),"
          + " nsp text NOT NULL, rel text NOT NULL, op text NOT NULL, new_row json, old_key json)",
      "CREATE TABLE bench_cc_indexed_log (LIKE bench_cc_log INCLUDING DEFAULTS)",
      "CREATE INDEX ON bench_cc_indexed_log (txid)"};

  private static String logInsert(String table) {
    return "BEGIN\n" + TOKEN_CHECK + "  INSERT INTO public." + table + " (nsp, rel, op, new_row) VALUES (TG_TABLE_SCHEMA, TG_TABLE_NAME,"
        + " pg_catalog.left(TG_OP, 1), pg_catalog.row_to_json(NEW));\n  RETURN NULL; END";
  }

  /** One way of writing: its trigger function on the pgbench tables, or none. */
  enum Variant {
    NONE("no trigger", null),
    EMPTY("empty plpgsql AFTER ROW trigger", "BEGIN RETURN NULL; END"),
    TOKEN("+ the apply-token check", "BEGIN\n" + TOKEN_CHECK + "  RETURN NULL; END"),
    ROW_TO_JSON("+ row_to_json(NEW)", "DECLARE n pg_catalog.json; BEGIN\n" + TOKEN_CHECK
        + "  n := pg_catalog.row_to_json(NEW); RETURN NULL; END"),
    LOG("+ inserting it into a log shaped like the change log, without its index", logInsert("bench_cc_log")),
    INDEXED_LOG("+ the log's index on txid", logInsert("bench_cc_indexed_log")),
    CAPTURE("the capture triggers (cutover.capture_row(): + SECURITY DEFINER, WHEN clause, the real log)", null);

    final String label;
    private final String body;

    Variant(String label, String body) {
      this.label = label;
      this.body = body;
    }

    String function() {
      return "bench_cc_" + name().toLowerCase(Locale.ROOT);
    }
  }

  private final int accounts;
  private final int warmup;
  private final int transactions;
  private final int rounds;

  /**
   * @param warmup transactions run on each fresh connection before measuring
   * @param transactions transactions measured per variant and round
   */
  CaptureCostBenchmark(int accounts, int warmup, int transactions, int rounds) {
    if (transactions < 1 || rounds < 1) {
      throw new IllegalArgumentException("transactions and rounds must be at least 1, not " + transactions + " and " + rounds);
    }
    this.accounts = accounts;
    this.warmup = warmup;
    this.transactions = transactions;
    this.rounds = rounds;
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
    }
    Replicator r = Replicator.builder()
        .old(Endpoint.of(Side.OLD, old.jdbcUrl(DB), old.user(), old.password()))
        .nw(Endpoint.of(Side.NEW, nw.jdbcUrl(DB), nw.user(), nw.password()))
        .build();
    r.start(StartOptions.defaults().withKeyless(PgbenchDatabase.HISTORY_FULL).withCapture(Capture.TRIGGERS), new CopyProgress(),
        CopyListener.NONE);
    createVariants(old);

    Map<Variant, double[]> cpu = new EnumMap<>(Variant.class);
    Map<Variant, double[]> wall = new EnumMap<>(Variant.class);
    for (Variant v : Variant.values()) {
      cpu.put(v, new double[rounds]);
      wall.put(v, new double[rounds]);
    }
    for (int round = 0; round < rounds; round++) {
      for (Variant v : Variant.values()) {
        use(old, v);
        double[] perTx = measure(old, data);
        cpu.get(v)[round] = perTx[0];
        wall.get(v)[round] = perTx[1];
        System.err.printf(Locale.ROOT, "capture-cost: round %d, %s: %.1f µs CPU, %.1f µs wall per transaction%n", round + 1, v.label,
            perTx[0], perTx[1]);
      }
    }
    use(old, Variant.NONE);
    r.cleanup();

    Report report = new Report("capture cost per write on old", "variant", "backend CPU µs/tx (median)", "fewer tx/s than none",
        "added µs/tx vs the row above", "client wall µs/tx (median)", "CPU µs/tx per round");
    double none = Report.median(cpu.get(Variant.NONE));
    double previous = none;
    for (Variant v : Variant.values()) {
      double c = Report.median(cpu.get(v));
      report.row(v.label, c, String.format(Locale.ROOT, "%.1f%%", 100 * (1 - none / c)), v == Variant.NONE ? "" : c - previous,
          Report.median(wall.get(v)), Report.rounds("%.0f", cpu.get(v)));
      previous = c;
    }
    report.fact("server", "PostgreSQL " + old.majorVersion() + ", embedded, same machine, loopback; the old side of a replicator"
        + " start --capture triggers with no apply running");
    report.fact("writer", String.format(Locale.ROOT, "pgbench's TPC-B transaction (3 updates, 1 select, 1 insert: 4 captured rows),"
        + " one connection, prepared statements; %,d accounts, %d tellers, %d branch(es); per variant and round %,d transactions"
        + " after %,d of warm-up on a fresh connection; %d rounds, variants in turn", accounts, data.tellers(), data.branches(),
        transactions, warmup, rounds));
    report.fact("triggers", "AFTER INSERT OR UPDATE FOR EACH ROW on the four pgbench tables, plpgsql; the real capture's are"
        + " replicator start's own (INSERT and key-keeping UPDATE call cutover.capture_row())");
    return report;
  }

  /** The benchmark's trigger functions and their triggers, disabled, on old's pgbench tables. */
  private static void createVariants(PostgresServer old) throws SQLException {
    try (Connection o = old.connect(DB); Statement s = o.createStatement()) {
      s.execute("SET cutover.ddl_capture = off"); // the benchmark's own triggers, not schema changes for new
      for (String sql : LOG_DDL) {
        s.execute(sql);
      }
      // start's event trigger gave them capture triggers as they were created: the log is not captured.
      List<String> alters = new ArrayList<>(List.of("ALTER TABLE bench_cc_log DISABLE TRIGGER USER",
          "ALTER TABLE bench_cc_indexed_log DISABLE TRIGGER USER"));
      for (Variant v : Variant.values()) {
        if (v.body == null) {
          continue;
        }
        s.execute("CREATE FUNCTION " + v.function() + "() RETURNS trigger LANGUAGE plpgsql AS $$" + v.body + "$$");
        for (String table : PgbenchDatabase.TABLES) {
          s.execute("CREATE TRIGGER " + v.function() + " AFTER INSERT OR UPDATE ON " + table + " FOR EACH ROW EXECUTE PROCEDURE "
              + v.function() + "()");
          alters.add("ALTER TABLE " + table + " DISABLE TRIGGER " + v.function());
        }
      }
      CaptureTriggerSwitch.run(o, alters);
    }
  }

  /** Enables the triggers of {@code variant} on the pgbench tables and disables every other variant's and the capture's. */
  private static void use(PostgresServer old, Variant variant) throws SQLException {
    List<String> alters = new ArrayList<>();
    try (Connection o = old.connect(DB); Statement s = o.createStatement()) {
      s.execute("SET cutover.ddl_capture = off");
      try (ResultSet rs = s.executeQuery("SELECT tgrelid::regclass, tgname, p.proname, t.tgenabled <> 'D' FROM pg_trigger t"
          + " JOIN pg_proc p ON p.oid = t.tgfoid WHERE NOT t.tgisinternal AND tgrelid::regclass::text LIKE 'pgbench\\_%'")) {
        while (rs.next()) {
          String function = rs.getString(3);
          boolean wanted = variant == Variant.CAPTURE ? function.startsWith("capture") : function.equals(variant.function());
          if (wanted != rs.getBoolean(4)) {
            alters.add("ALTER TABLE " + rs.getString(1) + (wanted ? " ENABLE ALWAYS" : " DISABLE") + " TRIGGER \"" + rs.getString(2) + "\"");
          }
        }
      }
      CaptureTriggerSwitch.run(o, alters);
    }
  }

  /** Runs the warm-up, then the measured transactions; returns backend CPU µs and client wall µs per transaction. */
  private double[] measure(PostgresServer old, PgbenchDatabase data) throws SQLException, IOException {
    try (Connection c = old.connect(DB); TpcbTransaction tx = new TpcbTransaction(c)) {
      c.setAutoCommit(false);
      Path schedstat;
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT pg_backend_pid()")) {
        rs.next();
        schedstat = Path.of("/proc", Integer.toString(rs.getInt(1)), "schedstat");
      }
      c.commit();
      run(c, tx, data, warmup);
      long cpu0 = cpuNanos(schedstat);
      long t0 = System.nanoTime();
      run(c, tx, data, transactions);
      long wall = System.nanoTime() - t0;
      long cpu = cpuNanos(schedstat) - cpu0;
      return new double[] {cpu / 1000.0 / transactions, wall / 1000.0 / transactions};
    }
  }

  private static void run(Connection c, TpcbTransaction tx, PgbenchDatabase data, int n) throws SQLException {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    for (int i = 0; i < n; i++) {
      tx.run(1 + random.nextInt((int) data.accounts()), 1 + random.nextInt(data.tellers()), 1 + random.nextInt(data.branches()),
          random.nextInt(-5000, 5001));
      c.commit();
    }
  }

  /** The time the process has run on a CPU, in nanoseconds (the first field of its schedstat). */
  private static long cpuNanos(Path schedstat) throws IOException {
    try {
      return Long.parseLong(Files.readString(schedstat).trim().split(" ")[0]);
    } catch (IOException e) {
      throw new IOException("cannot read the backend's CPU time from " + schedstat + ": the server must run on this machine", e);
    }
  }
}
