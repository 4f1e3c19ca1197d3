package dev.cutover.sample;

import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.capture.Capture;
import dev.cutover.replicator.cli.CaptureConverter;
import dev.cutover.replicator.cli.Units.DurationConverter;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/** {@code rehearse}: the whole cutover, on embedded PostgreSQL or two given databases, with a report. */
@Command(name = "rehearse", mixinStandardHelpOptions = true, sortOptions = false,
    description = {
        "Rehearses a cutover of a booking service under load.",
        "Starts an old and a new server (or uses two given databases), seeds data, lets the Cutover replicator check,"
            + " copy and replicate old into new, runs simulated instances through the Cutover driver, flips the flag"
            + " (there and back by default) arming replication the other way after each flip, verifies that nothing was"
            + " lost, cleans up, and writes a report (table here, JSON and HTML in --report-dir).",
        "Exit code: 0 every invariant held, 1 an invariant broke or no flip was rehearsed, 2 bad options, 3 could not run.", ""},
    footer = {"",
        "Environment: CUTOVER_REPLICATOR_OLD_USER and CUTOVER_REPLICATOR_NEW_USER (defaults of --old-user, --new-user); CUTOVER_REPLICATOR_OLD_PASSWORD"
            + " and CUTOVER_REPLICATOR_NEW_PASSWORD (the only way to give passwords; never printed); LD_SDK_KEY (default of"
            + " --ld-sdk-key)."})
final class RehearseCommand implements Callable<Integer> {
  static final int PASSED = 0;
  static final int BROKEN = 1;
  static final int USAGE = 2;
  static final int CANNOT_RUN = 3;

  private static final RehearsalPlan DEFAULTS = RehearsalPlan.defaults();
  private static final RehearsalPlan.Embedded DEFAULT_VERSIONS = (RehearsalPlan.Embedded) DEFAULTS.databases();

  @Option(names = "--old-version", paramLabel = "MAJOR", converter = MajorVersionConverter.class,
      description = "Old embedded server's major version: 9.6, or 10-18; with --capture auto, 9.6 and 10 use trigger capture and 11 relayed logical decoding (default: 12).")
  Integer oldVersion;

  @Option(names = "--new-version", paramLabel = "MAJOR", converter = MajorVersionConverter.class,
      description = "New embedded server's major version, 12-18 (default: 17).")
  Integer newVersion;

  @Option(names = "--capture", paramLabel = "ENGINE", defaultValue = "auto", converter = CaptureConverter.class,
      description = "The replicator's engine: logical (publication and subscription), triggers (capture triggers on old and the"
          + " replicator's apply process, both directions armed before the first flip), relay (old's slot read by the replicator's apply"
          + " process, the way back as with triggers), or auto: what the databases allow (default:"
          + " ${DEFAULT-VALUE}).")
  Capture capture;

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

  @Option(names = "--report-dir", paramLabel = "DIR", description = "Where each run's report.json and report.html go, in a folder"
      + " named by its start, with latest/ pointing at the newest (default: ${DEFAULT-VALUE}).")
  Path reportDir = DEFAULTS.reportDir();

  @Option(names = "--seed", description = "Seeds the data and the load (default: ${DEFAULT-VALUE}).")
  long seed = DEFAULTS.seed();

  @Option(names = "--old-url", paramLabel = "JDBC_URL", description = "An existing database to move from, instead of an"
      + " embedded server: jdbc:postgresql://host:port/db. It must be empty (see --allow-existing); the role needs"
      + " superuser, or REPLICATION and table ownership.")
  String oldUrl;

  @Option(names = "--new-url", paramLabel = "JDBC_URL", description = "An existing, empty database to move to (superuser,"
      + " or on 16+ pg_create_subscription and SET on session_replication_role; `cutover-replicator check` names what is"
      + " missing); required with --old-url.")
  String newUrl;

  @Option(names = "--old-user", paramLabel = "ROLE", description = "Role on the old database (default: CUTOVER_REPLICATOR_OLD_USER, else the URL's).")
  String oldUser;

  @Option(names = "--new-user", paramLabel = "ROLE", description = "Role on the new database (default: CUTOVER_REPLICATOR_NEW_USER, else the URL's).")
  String newUser;

  @Option(names = "--allow-existing", description = "Rehearse in given databases that hold other tables. They take part:"
      + " copied into new (where they must exist, empty), fenced at each flip, verified, and left in place; nothing else"
      + " may write to them meanwhile.")
  boolean allowExisting;

  @Option(names = "--ld-flag-key", paramLabel = "KEY", description = "Route by this LaunchDarkly flag (old/new or"
      + " false/true) instead of a flag file. The rehearsal cannot flip it: it prints what to set at each flip and waits"
      + " (--flip-timeout). Needs LD_SDK_KEY or --ld-sdk-key.")
  String ldFlagKey;

  @Option(names = "--ld-sdk-key", paramLabel = "SDK_KEY", description = "LaunchDarkly server-side SDK key (default: LD_SDK_KEY; prefer the variable).")
  String ldSdkKey;

  @Option(names = "--ld-base-uri", paramLabel = "URI", description = "Base URI of a LaunchDarkly Relay Proxy (streaming, polling and events).")
  URI ldBaseUri;

  @Option(names = "--flip-timeout", paramLabel = "DURATION", converter = DurationConverter.class,
      description = "How long to wait for the operator to flip the LaunchDarkly flag, per flip (default: 10m).")
  Duration flipTimeout = Duration.ofMinutes(10);

  private final PrintStream out;
  private final PrintStream err;
  private final Map<String, String> env;

  RehearseCommand() {
    this(System.out, System.err, System.getenv());
  }

  RehearseCommand(PrintStream out, PrintStream err, Map<String, String> env) {
    this.out = out;
    this.err = err;
    this.env = env;
  }

  @Override
  public Integer call() throws InterruptedException {
    RehearsalPlan plan;
    try {
      plan = plan();
    } catch (IllegalArgumentException e) {
      err.println("rehearse: " + e.getMessage());
      return USAGE;
    }
    Report report;
    try {
      report = new Rehearsal(plan, out).run();
    } catch (RehearsalException e) {
      err.println("rehearse: " + e.getMessage());
      if (e.getCause() != null && !(e.getCause() instanceof ReplicatorException)) {
        e.getCause().printStackTrace(err);
      }
      return CANNOT_RUN;
    }
    ReportTable.print(report, out);
    try {
      Path written = ReportFiles.writeRun(report, plan.reportDir(), java.time.Instant.parse(report.environment().runAt()));
      out.println("Report: " + written.resolve(ReportFiles.HTML).toAbsolutePath() + " and " + ReportFiles.JSON
          + " (also " + plan.reportDir().resolve(ReportFiles.LATEST).resolve(ReportFiles.HTML) + ")");
    } catch (IOException e) {
      err.println("rehearse: cannot write the report to " + plan.reportDir() + ": " + e.getMessage());
      return CANNOT_RUN;
    }
    return report.passed() && !report.flips().isEmpty() ? PASSED : BROKEN;
  }

  /**
   * The plan the options and the environment describe.
   *
   * @throws IllegalArgumentException naming the option and the bad value (never a secret)
   */
  RehearsalPlan plan() {
    return new RehearsalPlan(databases(), flagSource(), houses, users, instances, poolSize, rate, flips, phase, reportDir, seed,
        capture == null ? Capture.AUTO : capture);
  }

  private RehearsalPlan.Databases databases() {
    if (oldUrl == null && newUrl == null) {
      if (oldUser != null || newUser != null || allowExisting) {
        throw new IllegalArgumentException((allowExisting ? "--allow-existing" : oldUser != null ? "--old-user" : "--new-user")
            + " applies to given databases only: add --old-url and --new-url");
      }
      return new RehearsalPlan.Embedded(oldVersion == null ? DEFAULT_VERSIONS.oldVersion() : oldVersion,
          newVersion == null ? DEFAULT_VERSIONS.newVersion() : newVersion);
    }
    if (oldUrl == null || newUrl == null) {
      throw new IllegalArgumentException((oldUrl == null ? "--new-url" : "--old-url") + " needs "
          + (oldUrl == null ? "--old-url" : "--new-url") + ": a rehearsal on given databases needs both");
    }
    if (oldVersion != null || newVersion != null) {
      throw new IllegalArgumentException((oldVersion != null ? "--old-version" : "--new-version")
          + " applies to embedded servers only, not with --old-url and --new-url");
    }
    return new RehearsalPlan.Given(login("--old-url", oldUrl, oldUser, "CUTOVER_REPLICATOR_OLD_USER", "CUTOVER_REPLICATOR_OLD_PASSWORD"),
        login("--new-url", newUrl, newUser, "CUTOVER_REPLICATOR_NEW_USER", "CUTOVER_REPLICATOR_NEW_PASSWORD"), allowExisting);
  }

  private RehearsalPlan.Login login(String option, String url, String user, String userVariable, String passwordVariable) {
    try {
      return new RehearsalPlan.Login(url, user != null ? user : env.get(userVariable), env.get(passwordVariable));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(option + ": " + e.getMessage(), e);
    }
  }

  private RehearsalPlan.FlagSource flagSource() {
    if (ldFlagKey == null) {
      if (ldSdkKey != null || ldBaseUri != null) {
        throw new IllegalArgumentException((ldSdkKey != null ? "--ld-sdk-key" : "--ld-base-uri")
            + " needs --ld-flag-key: the LaunchDarkly flag that says old or new");
      }
      return new RehearsalPlan.FlagSource.File();
    }
    String sdkKey = ldSdkKey != null ? ldSdkKey : env.get("LD_SDK_KEY");
    return new RehearsalPlan.FlagSource.LaunchDarkly(ldFlagKey, sdkKey == null ? null : sdkKey.trim(), ldBaseUri, flipTimeout);
  }

  /** {@code 9.6} (major 9, as {@code server_version_num / 10000} counts it) or a major from 10 on. */
  static final class MajorVersionConverter implements ITypeConverter<Integer> {
    @Override
    public Integer convert(String value) {
      String v = value.trim();
      if (v.equals("9.6")) {
        return 9;
      }
      try {
        int major = Integer.parseInt(v);
        if (major >= 10) {
          return major;
        }
      } catch (NumberFormatException e) {
        // named below
      }
      throw new TypeConversionException("'" + value + "' is not a PostgreSQL version this rehearsal runs: write 9.6, or 10 to 18");
    }
  }
}
