package dev.cutover.sample;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/** {@code rehearse}: the whole cutover, on embedded PostgreSQL, with a report. */
@Command(name = "rehearse", mixinStandardHelpOptions = true, sortOptions = false,
    description = {
        "Rehearses a cutover of a booking service under load, on embedded PostgreSQL.",
        "Starts an old and a new server, seeds data, replicates old into new, runs simulated instances",
        "through the Cutover driver, flips the flag file (there and back by default), verifies that",
        "nothing was lost, and writes a report (table here, JSON and HTML in --report-dir).",
        "Exit code: 0 every invariant held, 1 an invariant broke, 2 bad options, 3 could not run."})
final class RehearseCommand implements Callable<Integer> {
  static final int PASSED = 0;
  static final int BROKEN = 1;
  static final int CANNOT_RUN = 3;

  private static final RehearsalPlan DEFAULTS = RehearsalPlan.defaults();

  @Option(names = "--old-version", paramLabel = "MAJOR", description = "Old server's major version, 12-18 (default: ${DEFAULT-VALUE}).")
  int oldVersion = DEFAULTS.oldVersion();

  @Option(names = "--new-version", paramLabel = "MAJOR", description = "New server's major version, 12-18 (default: ${DEFAULT-VALUE}).")
  int newVersion = DEFAULTS.newVersion();

  @Option(names = "--houses", description = "Houses to seed (default: ${DEFAULT-VALUE}).")
  int houses = DEFAULTS.houses();

  @Option(names = "--users", description = "Users to seed (default: ${DEFAULT-VALUE}).")
  int users = DEFAULTS.users();

  @Option(names = "--instances", description = "Simulated application instances, each with its own pool and driver (default: ${DEFAULT-VALUE}).")
  int instances = DEFAULTS.instances();

  @Option(names = "--pool-size", description = "Connections per instance, and worker threads per instance (default: ${DEFAULT-VALUE}).")
  int poolSize = DEFAULTS.poolSize();

  @Option(names = "--rate", paramLabel = "TX_PER_S", description = "Transactions per second, all instances together (default: ${DEFAULT-VALUE}).")
  int rate = DEFAULTS.rate();

  @Option(names = "--flips", description = "Flag flips: 1 = old to new, 2 = there and back, ... (default: ${DEFAULT-VALUE}).")
  int flips = DEFAULTS.flips();

  @Option(names = "--duration-per-phase", paramLabel = "DURATION", converter = DurationConverter.class,
      description = "Load before the first flip, between flips and after the last: 10s, 1500ms, 1m (default: 10s).")
  Duration phase = DEFAULTS.phase();

  @Option(names = "--report-dir", paramLabel = "DIR", description = "Where report.json and report.html go (default: ${DEFAULT-VALUE}).")
  Path reportDir = DEFAULTS.reportDir();

  @Option(names = "--seed", description = "Seeds the data and the load (default: ${DEFAULT-VALUE}).")
  long seed = DEFAULTS.seed();

  @Option(names = "--old-url", paramLabel = "JDBC_URL", description = "A real old database instead of an embedded one (not supported yet).")
  String oldUrl;

  @Option(names = "--new-url", paramLabel = "JDBC_URL", description = "A real new database instead of an embedded one (not supported yet).")
  String newUrl;

  private final PrintStream out;
  private final PrintStream err;

  RehearseCommand() {
    this(System.out, System.err);
  }

  RehearseCommand(PrintStream out, PrintStream err) {
    this.out = out;
    this.err = err;
  }

  @Override
  public Integer call() throws InterruptedException {
    if (oldUrl != null || newUrl != null) {
      err.println("rehearse: --old-url/--new-url: rehearsing on real databases is not supported yet: it needs the"
          + " replicator (issue 4) to check privileges, refuse non-empty databases and clean up only what it created;"
          + " leave both options out to rehearse on embedded PostgreSQL");
      return CANNOT_RUN;
    }
    RehearsalPlan plan;
    try {
      plan = new RehearsalPlan(oldVersion, newVersion, houses, users, instances, poolSize, rate, flips, phase, reportDir, seed);
    } catch (IllegalArgumentException e) {
      err.println("rehearse: " + e.getMessage());
      return 2;
    }
    Report report;
    try {
      report = new Rehearsal(plan, out).run();
    } catch (RehearsalException e) {
      err.println("rehearse: " + e.getMessage());
      if (e.getCause() != null) {
        e.getCause().printStackTrace(err);
      }
      return CANNOT_RUN;
    }
    ReportTable.print(report, out);
    try {
      Path written = ReportFiles.write(report, plan.reportDir());
      out.println("Report: " + written.resolve(ReportFiles.JSON).toAbsolutePath() + " and " + ReportFiles.HTML);
    } catch (IOException e) {
      err.println("rehearse: cannot write the report to " + plan.reportDir() + ": " + e.getMessage());
      return CANNOT_RUN;
    }
    return report.passed() ? PASSED : BROKEN;
  }

  /** Reads 10s, 1500ms, 2m, a bare number of seconds, or ISO-8601 (PT10S). */
  static final class DurationConverter implements ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
      String v = value.trim().toLowerCase(Locale.ROOT);
      try {
        if (v.startsWith("pt")) {
          return Duration.parse(v.toUpperCase(Locale.ROOT));
        }
        if (v.endsWith("ms")) {
          return Duration.ofMillis(Long.parseLong(v.substring(0, v.length() - 2).trim()));
        }
        if (v.endsWith("s")) {
          return Duration.ofMillis(Math.round(Double.parseDouble(v.substring(0, v.length() - 1).trim()) * 1000));
        }
        if (v.endsWith("m")) {
          return Duration.ofMillis(Math.round(Double.parseDouble(v.substring(0, v.length() - 1).trim()) * 60_000));
        }
        return Duration.ofMillis(Math.round(Double.parseDouble(v) * 1000));
      } catch (RuntimeException e) {
        throw new TypeConversionException("'" + value + "' is not a duration: write 10s, 1500ms, 2m or PT10S");
      }
    }
  }
}
