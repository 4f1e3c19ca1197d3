package dev.cutover.torture;

import dev.cutover.flags.Target;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One torture run, top to bottom: start the servers and the fleet, then round after round let the
 * nemesis play the schedule around a flip, let the instances settle, act as the operator (turn
 * replication around after the service moved, put the flag back where traffic is), wait for
 * replication, and check every invariant on both databases. The first violation stops the run and
 * leaves a record from which {@code --replay} plays the same schedule again.
 *
 * <p>Notes. The harness's own clock ({@link System#nanoTime()}) only paces the schedule and dates
 * the record; no check compares it with another process's. Journals are read before the
 * databases, so every acknowledgement read is already committed when the check looks for it.
 */
final class TortureRun {
  private static final int LOG_TAIL = 200;

  /** What a run leaves: its figures and where its files are. */
  record Result(Summary summary, Attempts attempts, Path directory, Path record) {
    boolean clean() {
      return summary.violations.isEmpty();
    }
  }

  final RunOptions options;
  final List<Schedule.Round> replay;
  private final Path out;
  private final PrintStream console;
  final long began = System.nanoTime();
  final Summary summary;
  final Attempts attempts = new Attempts();
  final List<RunRecord.RoundLog> rounds = new ArrayList<>();
  Path directory;

  /**
   * @param replay the rounds to play instead of generating them from the seed, or null
   */
  TortureRun(RunOptions options, List<Schedule.Round> replay, Path out, PrintStream console) {
    this.options = options;
    this.replay = replay;
    this.out = out;
    this.console = console;
    this.summary = new Summary(options);
  }

  long runMillis() {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - began);
  }

  Result run() throws Exception {
    directory = Files.createDirectories(out.resolve("run-" + options.seed() + "-"
        + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"))));
    DriverLog.into(directory.resolve("driver.log"));
    progress("seed %d; files in %s", options.seed(), directory);
    progress("starting embedded PostgreSQL %d (old) and %d (new), copying and replicating", options.oldVersion(), options.newVersion());
    Path record = directory.resolve("record.json");
    try (Cluster cluster = Cluster.start(options.oldVersion(), options.newVersion(), directory)) {
      summary.servers = cluster.describe();
      progress("%s", summary.servers);
      Operator operator = new Operator(cluster, directory.resolve("routing.flag"));
      Path instances = Files.createDirectories(directory.resolve("instances"));
      try (ExternalWriter external = new ExternalWriter(cluster, instances.resolve(ExternalWriter.NAME));
          Fleet fleet = new Fleet(cluster, instances, operator.flagFile(), options.fleet(), options.seed());
          Nemesis nemesis = new Nemesis(cluster, fleet, operator, external, this::runMillis)) {
        Rounds loop = new Rounds(this, cluster, operator, fleet, nemesis, new JournalReader(ExternalWriter.NAME,
            instances.resolve(ExternalWriter.NAME)));
        loop.run();
      } finally {
        summary.seconds = (System.nanoTime() - began) / 1e9;
        writeRecord(record, cluster);
      }
    }
    summary.write(directory.resolve("summary.json"), attempts);
    summary.write(out.resolve("summary.json"), attempts);
    console.println();
    console.print(summary.table(attempts));
    console.println("record: " + record + (summary.violations.isEmpty() ? "" : "  (replay: ./torture --replay " + record + ")"));
    return new Result(summary, attempts, directory, record);
  }

  void record(List<Invariants.Violation> found) {
    summary.violations.addAll(found);
  }

  void finding(List<String> notes, String finding) {
    notes.add(finding);
    summary.findings.add(finding);
  }

  static String describe(List<Attempts.Attempt> attempts) {
    if (attempts.isEmpty()) {
      return "no switch attempt";
    }
    List<String> parts = new ArrayList<>();
    for (Attempts.Attempt a : attempts) {
      parts.add(a.from() + "->" + a.to() + " " + a.outcome().name().toLowerCase(Locale.ROOT)
          + (a.reason().isEmpty() ? "" : " (" + a.reason() + ")"));
    }
    return String.join(", ", parts);
  }

  private void writeRecord(Path file, Cluster cluster) {
    Map<String, String> files = new LinkedHashMap<>();
    Map<String, List<String>> tails = new LinkedHashMap<>();
    for (Target side : Target.values()) {
      Path log = cluster.process(side).log();
      files.put(side.value() + " server log", log.toString());
      tails.put(side.value(), tail(log));
    }
    files.put("instances' journals", directory.resolve("instances").toString());
    files.put("driver log (harness JVM)", directory.resolve("driver.log").toString());
    files.put("both databases' tables after a violation", directory.resolve("state").toString());
    RunRecord r = new RunRecord(RunRecord.TOOL, options, summary.machine(), summary.servers, rounds,
        summary.violations.stream().map(Invariants.Violation::toString).toList(), files, tails);
    try {
      r.write(file);
    } catch (IOException e) {
      console.println("torture: could not write the record " + file + ": " + e.getMessage());
    }
  }

  private static List<String> tail(Path log) {
    try {
      List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
      return lines.subList(Math.max(0, lines.size() - LOG_TAIL), lines.size());
    } catch (IOException e) {
      return List.of("(no log: " + e.getMessage() + ")");
    }
  }

  void progress(String format, Object... args) {
    console.printf(Locale.ROOT, "[%7.1fs] %s%n", (System.nanoTime() - began) / 1e9, String.format(Locale.ROOT, format, args));
    console.flush();
  }
}
