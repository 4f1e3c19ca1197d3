package dev.cutover.bench;

import dev.cutover.testkit.PostgresPair;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Cutover's benchmarks: every figure beside a baseline measured in the same run. */
@Command(name = "bench", mixinStandardHelpOptions = true, subcommands = {
    Bench.Overhead.class, Bench.Pause.class, Bench.Jmh.class, Bench.All.class},
    description = "Prints a table per benchmark and writes JSON next to it.")
public final class Bench {
  @Option(names = "--smoke", description = "tiny sizes: runs each benchmark end to end quickly, figures mean little")
  boolean smoke;

  @Option(names = "--out", description = "where JSON results go (default: ${DEFAULT-VALUE})")
  Path out = Path.of("target", "bench");

  public static void main(String[] args) {
    System.exit(new CommandLine(new Bench()).execute(args));
  }

  @Command(name = "overhead", mixinStandardHelpOptions = true,
      description = "plain PgJDBC vs Cutover through HikariCP: tx/s, p50, p99, statements per transaction")
  static final class Overhead implements Callable<Integer> {
    @CommandLine.ParentCommand Bench bench;

    @Override
    public Integer call() throws Exception {
      try (PostgresPair pair = PostgresPair.start(17, 17)) {
        bench.overhead().run(pair).publish(bench.out);
      }
      return 0;
    }
  }

  @Command(name = "switch", mixinStandardHelpOptions = true,
      description = "flips under load at several rates with 1 and 4 instances: gate waits, drain, barrier, failures")
  static final class Pause implements Callable<Integer> {
    @CommandLine.ParentCommand Bench bench;

    @Override
    public Integer call() throws Exception {
      try (PostgresPair pair = PostgresPair.start(12, 17)) {
        bench.pause().run(pair).publish(bench.out);
      }
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

  @Command(name = "all", mixinStandardHelpOptions = true, description = "every benchmark in turn")
  static final class All implements Callable<Integer> {
    @CommandLine.ParentCommand Bench bench;

    @Override
    public Integer call() throws Exception {
      try (PostgresPair pair = PostgresPair.start(17, 17)) {
        bench.overhead().run(pair).publish(bench.out);
      }
      try (PostgresPair pair = PostgresPair.start(12, 17)) {
        bench.pause().run(pair).publish(bench.out);
      }
      new JmhRun(bench.smoke).run().publish(bench.out);
      return 0;
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
}
