package dev.cutover.torture;

import dev.cutover.replicator.cli.Units;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.ThreadLocalRandom;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ./torture}: switches under random faults, every invariant checked after each. Exit code 0
 * when no invariant broke, 1 when one did, 2 for bad options, 3 when the run could not start.
 */
@Command(name = "torture", mixinStandardHelpOptions = true, sortOptions = false,
    description = {
        "Runs application instances (threads of this JVM and JVMs of their own) through the Cutover driver against"
            + " embedded PostgreSQL servers, flips the flag round after round while a nemesis kills servers and"
            + " instances, slows, stalls and cuts links, pauses replication, holds stragglers and cursors and writes"
            + " from outside, and checks I1-I7 on both databases after every round.",
        "A run is reproducible from its seed as far as a concurrent system allows: the same seed plays the same"
            + " schedule of faults, but threads, networks and servers interleave differently each time."})
public final class Torture implements Callable<Integer> {
  static final int VIOLATED = 1;
  static final int BAD_OPTIONS = 2;
  static final int COULD_NOT_RUN = 3;

  @Option(names = "--minutes", description = "how long to start rounds (default: ${DEFAULT-VALUE})")
  double minutes = 10;

  @Option(names = "--seed", description = "the schedule's and the workload's seed (default: random, printed)")
  Long seed;

  @Option(names = "--max-attempts", description = "stop after this many switch attempts (default: no limit)")
  int maxAttempts;

  @Option(names = "--replay", paramLabel = "FILE",
      description = "play the rounds of a run's record.json again, with its options and seed")
  Path replay;

  @Option(names = "--old", description = "old's PostgreSQL major version, 12-18 (default: ${DEFAULT-VALUE})")
  int oldVersion = 12;

  @Option(names = "--new", description = "new's PostgreSQL major version, 12-18 (default: ${DEFAULT-VALUE})")
  int newVersion = 17;

  @Option(names = "--threads", description = "instances in this JVM (default: ${DEFAULT-VALUE})")
  int threads = 2;

  @Option(names = "--processes", description = "instances in JVMs of their own (default: ${DEFAULT-VALUE})")
  int processes = 2;

  @Option(names = "--rate", description = "operations per second per instance (default: ${DEFAULT-VALUE})")
  double rate = 20;

  @Option(names = "--drain", defaultValue = "1s", converter = Units.DurationConverter.class,
      description = "cutover.drain.timeout: 1s, 500ms, or a bare number of milliseconds (default: ${DEFAULT-VALUE})")
  Duration drain;

  @Option(names = "--barrier", defaultValue = "3s", converter = Units.DurationConverter.class,
      description = "cutover.barrier.timeout: 3s, 500ms, or a bare number of milliseconds (default: ${DEFAULT-VALUE})")
  Duration barrier;

  @Option(names = "--without", split = ",", paramLabel = "KIND",
      description = "kinds of fault to leave out, e.g. kill_server,crash_backend (to look past a known open bug; every"
          + " kind by default): ${COMPLETION-CANDIDATES}", converter = FaultKindConverter.class)
  java.util.Set<Schedule.FaultKind> without = java.util.Set.of();

  @Option(names = "--out", description = "where runs are written (default: ${DEFAULT-VALUE})")
  Path out = Path.of("target", "torture");

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  /** Fault kinds as written in the table and the record: lower case. */
  static final class FaultKindConverter implements CommandLine.ITypeConverter<Schedule.FaultKind> {
    @Override
    public Schedule.FaultKind convert(String value) {
      try {
        return Schedule.FaultKind.valueOf(value.trim().toUpperCase(java.util.Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new CommandLine.TypeConversionException("no fault '" + value + "'; the kinds are "
            + java.util.Arrays.stream(Schedule.FaultKind.values()).map(k -> k.name().toLowerCase(java.util.Locale.ROOT)).toList());
      }
    }
  }

  public static void main(String[] args) {
    System.exit(new CommandLine(new Torture()).setExecutionExceptionHandler((e, line, parsed) -> {
      line.getErr().println("torture: could not run: " + e);
      e.printStackTrace(line.getErr());
      return COULD_NOT_RUN;
    }).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    RunOptions options;
    java.util.List<Schedule.Round> rounds = null;
    try {
      if (replay != null) {
        RunRecord record = RunRecord.read(replay);
        options = record.options();
        rounds = record.plans();
      } else {
        options = new RunOptions(oldVersion, newVersion, minutes, maxAttempts,
            seed != null ? seed : ThreadLocalRandom.current().nextLong(1, 1_000_000), threads, processes, rate, 2, 6,
            drain.toMillis(), barrier.toMillis(), without);
      }
    } catch (IllegalArgumentException | java.io.IOException e) {
      spec.commandLine().getErr().println("torture: " + e.getMessage());
      return BAD_OPTIONS;
    }
    TortureRun.Result result = new TortureRun(options, rounds, out, System.out).run();
    return result.clean() ? 0 : VIOLATED;
  }
}
