package dev.cutover.replicator.cli;

import dev.cutover.replicator.FirstLine;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.sql.Sql;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code cutover-replicator <command>}: the replicator's command line. Human-readable output by
 * default, {@code --json} for scripts; progress and errors on standard error; exit codes as in
 * {@code docs/replicator.md} and {@code --help}.
 */
@Command(name = "cutover-replicator", mixinStandardHelpOptions = true, versionProvider = ReplicatorCli.Version.class,
    description = "Moves a live application's data from an old to a new PostgreSQL database with logical replication or trigger capture.",
    subcommands = {CheckCommand.class, SchemaCommand.class, StartCommand.class, ApplyCommand.class, StatusCommand.class, HeartbeatCommand.class,
        CatchUpCommand.class, AdoptCommand.class, SequencesCommand.class, ReverseCommand.class, VerifyCommand.class, SyncLargeObjectsCommand.class,
        RefreshCommand.class, DdlDoneCommand.class, CleanupCommand.class, SwitchStatusCommand.class, SwitchAbortCommand.class,
        SwitchForceCommand.class, CommandLine.HelpCommand.class},
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
        "0:success",
        "1:unexpected error (message on standard error; for a bug, its stack trace too)",
        "2:bad command line",
        "3:cannot connect (bad URL, unreachable server, refused credentials)",
        "4:missing privilege",
        "5:precondition not met (wal_level, non-empty tables, leftovers, old not fenced)",
        "6:check found errors",
        "7:verify found differences, or tables replication does not carry (not compared)",
        "8:timeout (replication did not catch up)",
        "9:pg_dump missing or too old"},
    footer = {"", "Passwords come from the environment: CUTOVER_REPLICATOR_OLD_PASSWORD, CUTOVER_REPLICATOR_NEW_PASSWORD."})
public final class ReplicatorCli {
  /** Exit code for an unexpected error. */
  public static final int UNEXPECTED = 1;

  private ReplicatorCli() {}

  public static void main(String[] args) {
    if (System.getProperty("logback.configurationFile") == null) {
      System.setProperty("logback.configurationFile", "dev/cutover/replicator/cli/logback-cli.xml");
    }
    PrintWriter out = new PrintWriter(System.out, true, StandardCharsets.UTF_8);
    PrintWriter err = new PrintWriter(System.err, true, StandardCharsets.UTF_8);
    System.exit(run(out, err, System.getenv(), System.console() != null, args));
  }

  /**
   * Runs one command line and returns its exit code, writing to {@code out} and {@code err};
   * {@code env} supplies passwords; {@code terminal} whether progress is drawn in place.
   */
  public static int run(PrintWriter out, PrintWriter err, Map<String, String> env, boolean terminal, String... args) {
    Context context = new Context(out, err, env, terminal);
    CommandLine cli = new CommandLine(new ReplicatorCli(), new CommandLine.IFactory() {
      @Override
      public <K> K create(Class<K> cls) throws Exception {
        if (BaseCommand.class.isAssignableFrom(cls)) {
          K command = CommandLine.defaultFactory().create(cls);
          ((BaseCommand) command).context = context;
          return command;
        }
        return CommandLine.defaultFactory().create(cls);
      }
    });
    cli.setOut(out);
    cli.setErr(err);
    cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> failure(e, context));
    cli.setParameterExceptionHandler((e, args1) -> usage(e, err));
    int code = cli.execute(args);
    out.flush();
    err.flush();
    return code;
  }

  /** A bad command line or option value: the problem, then the command's usage; exit code 2. */
  private static int usage(CommandLine.ParameterException e, PrintWriter err) {
    err.println("cutover-replicator: " + Sql.maskSecrets(e.getMessage()));
    CommandLine.UnmatchedArgumentException.printSuggestions(e, err);
    err.println();
    e.getCommandLine().usage(err);
    err.flush();
    return 2;
  }

  /** One line on standard error (and a JSON object on standard output with --json); the failure's exit code. */
  static int failure(Exception e, Context context) {
    if (e instanceof CommandLine.ParameterException pe) {
      return usage(pe, context.err);
    }
    int code;
    String message;
    String kind;
    if (e instanceof ReplicatorException re) {
      code = re.failure().exitCode();
      message = re.oneLine();
      kind = re.failure().name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    } else if (e instanceof SQLException se) {
      code = UNEXPECTED;
      String first = FirstLine.of(se);
      message = first + (se.getSQLState() == null ? "" : " (SQLState " + se.getSQLState() + ")");
      kind = "sql";
    } else {
      code = UNEXPECTED;
      message = e.getClass().getSimpleName() + ": " + e.getMessage();
      kind = "unexpected";
    }
    message = Sql.maskSecrets(message);
    context.err.println("cutover-replicator: " + message);
    if ("unexpected".equals(kind)) {
      printTrace(e, context.err);
    }
    context.err.flush();
    if (context.json) {
      context.out.println(Json.write(Map.of("error", message, "kind", kind, "exitCode", code)));
      context.out.flush();
    }
    return code;
  }

  /**
   * The stack trace of an error nobody foresaw (a bug worth reporting), with every message passed
   * through {@link Sql#maskSecrets} like the one-line message.
   */
  private static void printTrace(Throwable e, PrintWriter err) {
    err.println("cutover-replicator: this looks like a bug in cutover-replicator; please report it with the trace below");
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      err.println((t == e ? "" : "Caused by: ") + t.getClass().getName()
          + (t.getMessage() == null ? "" : ": " + Sql.maskSecrets(t.getMessage())));
      for (StackTraceElement frame : t.getStackTrace()) {
        err.println("\tat " + frame);
      }
    }
  }

  /** Shared by the commands of one run. */
  static final class Context {
    final PrintWriter out;
    final PrintWriter err;
    final Map<String, String> env;
    final boolean terminal;
    boolean json;

    Context(PrintWriter out, PrintWriter err, Map<String, String> env, boolean terminal) {
      this.out = out;
      this.err = err;
      this.env = env;
      this.terminal = terminal;
    }
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"cutover-replicator " + dev.cutover.flags.CutoverVersion.get()};
    }
  }
}
