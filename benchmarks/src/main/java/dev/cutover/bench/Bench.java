package dev.cutover.bench;

import dev.cutover.common.Durations;
import dev.cutover.replicator.apply.Applier;
import dev.cutover.replicator.capture.Capture;
import dev.cutover.replicator.replication.StartOptions;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.ServerSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Cutover's benchmarks: every figure beside a baseline measured in the same run. */
@Command(name = "bench", mixinStandardHelpOptions = true, subcommands = {
    Bench.Overhead.class, Bench.Pause.class, Bench.Jmh.class, Bench.Copy.class, Bench.Lag.class, Bench.CaptureCost.class, Bench.Verify.class,
    Bench.All.class},
    description = "Prints a table per benchmark and writes JSON next to it.")
public final class Bench {
  /** PostgreSQL versions of the copy and lag benchmarks: the upgrade the design brief names. */
  static final int OLD_MAJOR = 12;
  static final int NEW_MAJOR = 17;
  /** Overhead runs plain and Cutover against one server; the pair's second is only Cutover's new side. */
  static final int SAME_MAJOR = 17;
  static final long DEFAULT_ROWS = 5_000_000;
  static final long SMOKE_ROWS = 20_000;
  static final int DEFAULT_ROUNDS = 3;
  static final int DEFAULT_RATE = 2000;
  static final int SMOKE_RATE = 200;

  @Option(names = "--smoke", description = "tiny sizes: runs each benchmark end to end quickly, figures mean little")
  boolean smoke;

  /** The servers' {@code fsync}. */
  enum Fsync { ON, OFF }

  @Option(names = "--fsync", paramLabel = "on|off", defaultValue = "off",
      description = "the servers' fsync: off (the default) makes every figure CPU-bound; on makes commits wait for the disk, as in"
          + " production")
  Fsync fsync = Fsync.OFF;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(names = "--out", description = "where JSON results go (default: ${DEFAULT-VALUE})")
  Path out = Path.of("target", "bench");

  public static void main(String[] args) {
    // Logical replication waits here as it would in production: nothing writes WAL to hurry it on.
    System.setProperty(ServerSettings.NUDGER_PROPERTY, "off");
    CommandLine cli = new CommandLine(new Bench()).setCaseInsensitiveEnumValuesAllowed(true);
    cli.setExecutionExceptionHandler((e, line, parsed) -> {
      if (e instanceof PgClient.MissingClientException) {
        line.getErr().println("bench: " + e.getMessage());
        return 4;
      }
      throw e;
    });
    System.exit(cli.execute(args));
  }

  @Command(name = "overhead", mixinStandardHelpOptions = true,
      description = "plain PgJDBC vs Cutover through HikariCP: tx/s, p50, p99, statements per transaction")
  static final class Overhead implements Callable<Integer> {
    @CommandLine.ParentCommand Bench bench;

    @Override
    public Integer call() throws Exception {
      bench.onPair(SAME_MAJOR, SAME_MAJOR, bench.overhead()::run);
      return 0;
    }
  }

  @Command(name = "switch", mixinStandardHelpOptions = true,
      description = "flips under load at several rates with 1 and 4 instances: gate waits, drain, barrier, failures")
  static final class Pause implements Callable<Integer> {
    @CommandLine.ParentCommand Bench bench;

    @Override
    public Integer call() throws Exception {
      bench.onPair(OLD_MAJOR, NEW_MAJOR, bench.pause()::run);
      return 0;
    }
  }

  @Command(name = "jmh", mixinStandardHelpOptions = true,
      description = "JMH on the per-call path with allocation per operation")
  static final class Jmh implements Callable<Integer> {
    @CommandLine.ParentCommand Bench bench;

    @Override
    public Integer call() throws Exception {
      new JmhRun(bench.smoke).run().publish(bench.out);
      return 0;
    }
  }

  @Command(name = "copy", mixinStandardHelpOptions = true,
      description = "initial copy of a pgbench-shaped database 12 -> 17: replicator start vs pg_dump | psql vs a plain"
          + " subscription into an indexed schema; needs pg_dump and psql on PATH (" + PgClient.INSTALL + ")")
  static final class Copy implements Callable<Integer> {
    @CommandLine.ParentCommand Bench bench;

    @Option(names = "--rows", description = "pgbench_accounts rows (default 5,000,000, about 1 GB with indexes; --smoke: 20,000)")
    Long rows;

    @Option(names = "--jobs", description = "the replicator's copy and index-build workers (default: its own, cores but at least 2)")
    Integer jobs;

    @Option(names = "--rounds", description = "times each method runs, the median counts (default 3; --smoke: 1)")
    Integer rounds;

    @Option(names = "--chunk-mb", description = "the replicator's chunk size in MB (default: its own: whole tables with 2 jobs or fewer, else 256)")
    Integer chunkMb;

    @Override
    public Integer call() throws Exception {
      StartOptions options = StartOptions.defaults();
      try {
        options = jobs == null ? options : options.withJobs(jobs);
        options = chunkMb == null ? options : options.withChunkBytes((long) chunkMb << 20);
      } catch (IllegalArgumentException e) {
        throw bench.badOption(e.getMessage());
      }
      bench.onPair(OLD_MAJOR, NEW_MAJOR, bench.copy(rows, rounds, options)::run);
      return 0;
    }
  }

  @Command(name = "lag", mixinStandardHelpOptions = true,
      description = "replication lag 12 -> 17 (p50, p99, max) under a paced TPC-B-like write load, against the same probe idle")
  static final class Lag implements Callable<Integer> {
    @CommandLine.ParentCommand Bench bench;

    @Option(names = "--rate", description = "writer transactions per second (default 2000; --smoke: 200)")
    Integer rate;

    @Option(names = "--capture", paramLabel = "ENGINE", defaultValue = "logical",
        description = "logical: logical replication alone; triggers: trigger capture beside it in the same run, with what its"
            + " triggers cost the writer on old and each engine's apply ceiling; relay: relayed replication beside it"
            + " (default: ${DEFAULT-VALUE})")
    String capture;

    @Option(names = "--batch-every", paramLabel = "DURATION", split = ",",
        description = "with --capture triggers: apply pacing (the apply process's --batch-every), one lag measurement per value in"
            + " the order given, e.g. 0ms,50ms,0ms,50ms (default: the apply process's default, 0ms)")
    List<String> batchEvery;

    @Option(names = "--warmup", paramLabel = "SECONDS",
        description = "seconds of writer load before each measured load phase, not reported (default 3; --smoke: 0.5)")
    Double warmup;

    @Option(names = "--backlog", paramLabel = "TRANSACTIONS",
        description = "TPC-B transactions written while apply is stopped, for each engine's apply ceiling (default 20000; --smoke: 300)")
    Integer backlog;

    @Option(names = "--new-delay", paramLabel = "DURATION",
        description = "the replicator's connections to new go through a proxy that holds each chunk of bytes this long, each way, as a"
            + " network between the apply process and new would, e.g. 1ms (default: connected directly)")
    String newDelay;

    @Override
    public Integer call() throws Exception {
      Capture beside = switch (capture) {
        case "logical" -> null;
        case "triggers" -> Capture.TRIGGERS;
        case "relay" -> Capture.RELAY;
        default -> throw bench.badOption("--capture must be logical, triggers or relay, not '" + capture + "'");
      };
      if (batchEvery != null && beside != Capture.TRIGGERS) {
        throw bench.badOption("--batch-every needs --capture triggers");
      }
      bench.onPair(OLD_MAJOR, NEW_MAJOR, bench.lag(rate, beside, batchEvery, warmup, backlog, newDelay)::run);
      return 0;
    }
  }

  @Command(name = "capture-cost", mixinStandardHelpOptions = true,
      description = "what one captured TPC-B write costs old's backend (CPU µs per transaction), taken apart: no trigger, an empty"
          + " plpgsql row trigger, + the apply-token check, + row_to_json, + a log insert, + its index, the real capture triggers")
  static final class CaptureCost implements Callable<Integer> {
    @CommandLine.ParentCommand Bench bench;

    @Option(names = "--transactions", description = "measured per variant and round (default 5,000; --smoke: 200)")
    Integer transactions;

    @Option(names = "--rounds", description = "rounds of every variant in turn, the median counts (default 3; --smoke: 1)")
    Integer rounds;

    @Override
    public Integer call() throws Exception {
      bench.onPair(OLD_MAJOR, NEW_MAJOR, bench.captureCost(transactions, rounds)::run);
      return 0;
    }
  }

  @Command(name = "verify", mixinStandardHelpOptions = true,
      description = "verify's rows/s per side on a pgbench-shaped database 12 -> 17, against one md5(string_agg(...)) scan per side")
  static final class Verify implements Callable<Integer> {
    @CommandLine.ParentCommand Bench bench;

    @Option(names = "--rows", description = "pgbench_accounts rows (default 5,000,000; --smoke: 20,000)")
    Long rows;

    @Option(names = "--rounds", description = "times verify and the baseline run, the median counts (default 3; --smoke: 1)")
    Integer rounds;

    @Override
    public Integer call() throws Exception {
      bench.onPair(OLD_MAJOR, NEW_MAJOR, bench.verify(rows, rounds)::run);
      return 0;
    }
  }

  @Command(name = "all", mixinStandardHelpOptions = true, description = "every benchmark in turn")
  static final class All implements Callable<Integer> {
    @CommandLine.ParentCommand Bench bench;

    @Option(names = "--rows", description = "the copy benchmark's pgbench_accounts rows (default 5,000,000; --smoke: 20,000)")
    Long rows;

    @Option(names = "--rate", description = "the lag benchmark's writer tx/s (default 2000; --smoke: 200)")
    Integer rate;

    @Override
    public Integer call() throws Exception {
      // Before anything runs: the copy benchmark's baseline needs pg_dump and psql.
      CopyBenchmark copy = bench.copy(rows, null, StartOptions.defaults());
      LagBenchmark lag = bench.lag(rate, Capture.TRIGGERS, null, null, null, null);
      bench.onPair(SAME_MAJOR, SAME_MAJOR, bench.overhead()::run);
      bench.onPair(OLD_MAJOR, NEW_MAJOR, bench.pause()::run);
      new JmhRun(bench.smoke).run().publish(bench.out);
      bench.onPair(OLD_MAJOR, NEW_MAJOR, copy::run);
      bench.onPair(OLD_MAJOR, NEW_MAJOR, lag::run);
      bench.onPair(OLD_MAJOR, NEW_MAJOR, bench.verify(rows, null)::run);
      return 0;
    }
  }

  /** A benchmark that runs on a pair of servers. */
  @FunctionalInterface
  interface OnPair {
    Report run(PostgresPair pair) throws Exception;
  }

  /** Starts a pair, runs {@code benchmark} on it, publishes its report and stops the pair. */
  void onPair(int oldMajor, int newMajor, OnPair benchmark) throws Exception {
    System.setProperty(ServerSettings.FSYNC_PROPERTY, fsync.name().toLowerCase(Locale.ROOT));
    try (PostgresPair pair = PostgresPair.start(oldMajor, newMajor)) {
      Report report = benchmark.run(pair);
      report.fact("servers' fsync", fsync == Fsync.ON ? "on: a commit waits for its WAL on disk, as in production"
          : "off: commits never wait for the disk, so the figures are CPU-bound (--fsync on for production's durability)");
      report.publish(out);
    }
  }

  OverheadBenchmark overhead() {
    return smoke ? new OverheadBenchmark(1, 0.5, 2, 1000) : new OverheadBenchmark(6, 5, 4, 100_000);
  }

  SwitchPauseBenchmark pause() {
    return smoke
        ? new SwitchPauseBenchmark(List.of(200), List.of(1, 2), 0.5, 0.5)
        : new SwitchPauseBenchmark(List.of(500, 2000, 0), List.of(1, 4), 3, 2);
  }

  /**
   * The copy benchmark at {@code rows} accounts (null: the default for the mode), the replicator
   * started with {@code options}.
   *
   * @throws PgClient.MissingClientException when pg_dump or psql is missing: fails, never skips
   */
  CopyBenchmark copy(Long rows, Integer rounds, StartOptions options) {
    return new CopyBenchmark(rows(rows), PgClient.require(OLD_MAJOR), options, rounds(rounds));
  }

  /** The verify benchmark at {@code rows} accounts and {@code rounds} (null: the defaults for the mode). */
  VerifyBenchmark verify(Long rows, Integer rounds) {
    return new VerifyBenchmark(rows(rows), rounds(rounds));
  }

  /** pgbench_accounts rows: {@code rows}, or the default for the mode; validated. */
  private long rows(Long rows) {
    long n = rows != null ? rows : smoke ? SMOKE_ROWS : DEFAULT_ROWS;
    if (n < 1 || n > Integer.MAX_VALUE) {
      throw badOption("--rows must be between 1 and " + Integer.MAX_VALUE + ", not " + n);
    }
    return n;
  }

  /** Rounds of a benchmark whose median counts: {@code rounds}, or the default for the mode; validated. */
  private int rounds(Integer rounds) {
    int r = rounds != null ? rounds : smoke ? 1 : DEFAULT_ROUNDS;
    if (r < 1) {
      throw badOption("--rounds must be at least 1, not " + r);
    }
    return r;
  }

  /**
   * The lag benchmark at {@code rate} tx/s (null: the default for the mode), with trigger capture or
   * relayed replication {@code beside} logical replication (null: neither), trigger capture's apply
   * paced at each of {@code batchEvery} in turn (null: the apply process's default), each load
   * phase after {@code warmup} seconds of load, each apply ceiling from a backlog of {@code backlog}
   * transactions (null: the defaults for the mode), the replicator's connections to new through a
   * proxy holding each chunk {@code newDelay} each way (null: connected directly).
   */
  LagBenchmark lag(Integer rate, Capture beside, List<String> batchEvery, Double warmup, Integer backlog, String newDelay) {
    int r = rate != null ? rate : smoke ? SMOKE_RATE : DEFAULT_RATE;
    if (r < 1) {
      throw badOption("--rate must be at least 1 tx/s, not " + r);
    }
    double w = warmup != null ? warmup : smoke ? 0.5 : 3;
    if (!(w >= 0 && w <= 600)) {
      throw badOption("--warmup must be between 0 and 600 seconds, not " + warmup);
    }
    int b = backlog != null ? backlog : smoke ? 300 : 20_000;
    if (b < 1) {
      throw badOption("--backlog must be at least 1 transaction, not " + b);
    }
    List<Duration> pacing = new ArrayList<>();
    for (String value : batchEvery == null ? List.<String>of() : batchEvery) {
      try {
        pacing.add(Durations.parse("--batch-every", value)); // trims; a sign is not a duration
      } catch (IllegalArgumentException e) {
        throw badOption(e.getMessage());
      }
    }
    if (pacing.isEmpty()) {
      pacing.add(Applier.Options.defaults().batchEvery());
    }
    Duration delay;
    try {
      delay = newDelay == null ? Duration.ZERO : Durations.parse("--new-delay", newDelay);
    } catch (IllegalArgumentException e) {
      throw badOption(e.getMessage());
    }
    return smoke
        ? new LagBenchmark(r, 20_000, 2, 1, w, 2, b, 0.5, beside, pacing, delay)
        : new LagBenchmark(r, 1_000_000, 8, 10, w, 30, b, 5, beside, pacing, delay);
  }

  /** The capture cost benchmark at {@code transactions} per variant and {@code rounds} (null: the defaults for the mode). */
  CaptureCostBenchmark captureCost(Integer transactions, Integer rounds) {
    int n = transactions != null ? transactions : smoke ? 200 : 5_000;
    if (n < 1) {
      throw badOption("--transactions must be at least 1, not " + n);
    }
    return smoke ? new CaptureCostBenchmark(20_000, 100, n, rounds(rounds)) : new CaptureCostBenchmark(100_000, 1_000, n, rounds(rounds));
  }

  RuntimeException badOption(String message) {
    return spec == null ? new IllegalArgumentException(message) : new CommandLine.ParameterException(spec.commandLine(), message);
  }
}
