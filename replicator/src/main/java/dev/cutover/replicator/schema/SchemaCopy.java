package dev.cutover.replicator.schema;

import static dev.cutover.common.Transactions.inTransaction;

import dev.cutover.common.LibpqEnvironment;
import dev.cutover.common.Quoting;
import dev.cutover.replicator.DistinctDatabases;
import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.Failure;
import dev.cutover.replicator.FirstLine;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.sql.Catalog;
import dev.cutover.replicator.sql.Sql;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * {@code schema}: copies old's schema into an empty new database with {@code pg_dump
 * --schema-only}, leaving out the control schema, its fence triggers, publications and
 * subscriptions. The dump runs on new in one transaction: all of it or nothing.
 *
 * <p>pg_dump must be at least old's major version. Without one, it fails with
 * {@link Failure#TOOL_MISSING} and a message holding the exact commands to run by hand.
 * Extensions come first: every extension old has must be available on new's server before
 * anything is created, since the dump creates them before the objects that use them.
 */
public final class SchemaCopy {
  private static final Pattern VERSION = Pattern.compile("\\(PostgreSQL\\)\\s+(\\d+)(?:\\.(\\d+))?");
  private static final String FENCE_TRIGGER = "CREATE TRIGGER cutover_fence ";
  /** Our event triggers (database-wide, so pg_dump keeps them whatever schema it leaves out): several lines each. */
  private static final Pattern EVENT_TRIGGERS =
      Pattern.compile("(?ms)^(?:CREATE EVENT TRIGGER cutover_\\w+ .*?;|ALTER EVENT TRIGGER cutover_\\w+ [^;]*;)\\n?");
  private static final String INSUFFICIENT_PRIVILEGE = "42501";
  private static final Pattern DENIED = Pattern.compile("permission denied (?:for|to create) (database|schema|extension) \"?([^\"\\s]+)\"?");

  /**
   * @param pgDump the pg_dump to use; null to look on PATH and in /usr/lib/postgresql/(version)/bin
   * @param noOwner pass {@code --no-owner} (when new's roles differ from old's)
   * @param noPrivileges pass {@code --no-privileges}
   */
  /**
   * @param lockWait how long pg_dump may wait for each table's lock on old ({@code --lock-wait-timeout}):
   *     a migration's ALTER TABLE, a VACUUM FULL or a prepared transaction holding one would otherwise
   *     keep it waiting as long, and every later query of that table behind it
   */
  public record Options(String pgDump, boolean noOwner, boolean noPrivileges, Duration lockWait) {}

  /** How long pg_dump may take in all. */
  private static final Duration DUMP_LIMIT = Duration.ofMinutes(10);

  /**
   * What was done.
   *
   * @param pgDump the pg_dump used
   * @param pgDumpMajor its major version
   * @param dumpBytes size of the schema dump
   * @param tables application tables on new afterwards
   * @param millis time taken
   * @param ownersMapped old's owners that the connecting role cannot become on new, whose objects it
   *     now owns itself ({@code --no-owner} chosen for them); empty when owners were kept or --no-owner was asked for
   * @param warnings what was not carried over and why, one sentence each
   * @param settings the statements that gave new's database old's defaults, its own and its roles'
   *     ({@link DatabaseSettings}), which pg_dump leaves out
   */
  public record Report(String pgDump, int pgDumpMajor, long dumpBytes, int tables, long millis, List<String> ownersMapped,
      List<String> warnings, List<String> settings) {}

  private SchemaCopy() {}

  public static Report run(Endpoint old, Endpoint nw, Options options) throws ReplicatorException, SQLException, IOException,
      InterruptedException {
    long t0 = System.nanoTime();
    try (Connection o = old.connect(); Connection n = nw.connect()) {
      DistinctDatabases.require(o, n);
      int oldMajor = Sql.majorVersion(o);
      List<String> existing = Catalog.applicationTables(n).stream().map(Object::toString).collect(Collectors.toList());
      if (!existing.isEmpty()) {
        throw new ReplicatorException(Failure.PRECONDITION, "new is not empty: it has " + existing.size() + " table(s), e.g. "
            + existing.get(0), "point --new-url at an empty database (CREATE DATABASE ...)");
      }
      List<String> missing = new ArrayList<>();
      for (String ext : Sql.strings(o, "SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY 1")) {
        if (!Sql.bool(n, "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = ?)", ext)) {
          missing.add(ext);
        }
      }
      if (!missing.isEmpty()) {
        throw new ReplicatorException(Failure.PRECONDITION, "new's server does not offer extension(s) " + String.join(", ", missing)
            + " that old uses", "install their packages on new's server first (RDS: check rds.allowed_extensions)");
      }
      Tool tool = find(options.pgDump(), oldMajor);
      if (tool == null || tool.major < oldMajor) {
        String found = tool == null ? (options.pgDump() == null ? "no pg_dump on PATH" : "no pg_dump at " + options.pgDump())
            : tool.path + " is version " + tool.major;
        throw new ReplicatorException(Failure.TOOL_MISSING, found + ", and old runs PostgreSQL " + oldMajor
            + " (pg_dump must be " + oldMajor + " or newer)",
            "install postgresql-client-" + oldMajor + " (or newer) and retry, or run: " + manualCommand(old, nw, options));
      }
      RestorePolicy policy = new RestorePolicy(n);
      String user = Catalog.currentUser(n);
      List<String> warnings = new ArrayList<>();
      Options effective = options;
      String dump = new String(dump(tool.path, old, options), StandardCharsets.UTF_8);
      List<String> mapped = options.noOwner() ? List.of() : policy.ownersNotBecomable(dump);
      if (!mapped.isEmpty()) {
        effective = new Options(options.pgDump(), true, options.noPrivileges(), options.lockWait());
        dump = new String(dump(tool.path, old, effective), StandardCharsets.UTF_8);
        warnings.add("ownership mapped to " + user + ": it cannot become " + String.join(", ", mapped) + " on new, so it owns"
            + " everything it creates there (as with --no-owner); `cutover-replicator check --app-role ROLE` names what the"
            + " application's roles then lack on new");
      }
      if (!effective.noPrivileges()) {
        policy.requireGrantees(dump);
      }
      RestorePolicy.Adjusted script = policy.adjust(filter(dump));
      warnings.addAll(script.warnings());
      restore(n, script.script(), user);
      List<String> settings = copySettings(o, n, warnings);
      int tables = Catalog.applicationTables(n).size();
      return new Report(tool.path, tool.major, dump.length(), tables, (System.nanoTime() - t0) / 1_000_000, mapped,
          List.copyOf(warnings), List.copyOf(settings));
    }
  }

  /**
   * Gives new's database old's defaults, its own ({@code ALTER DATABASE … SET}) and its roles'
   * ({@code ALTER ROLE … IN DATABASE … SET}), which pg_dump without {@code --create} leaves out:
   * the statements run, in order. One the role may not run (another owner's database, a role's
   * setting without CREATEROLE, a setting only a superuser may set) becomes a warning that prints
   * it. A setting new has and old lacks is left as it is (an operator's, e.g. read-only until the
   * switch); {@code check} names it.
   */
  static List<String> copySettings(Connection o, Connection n, List<String> warnings) throws SQLException {
    List<String> done = new ArrayList<>();
    for (DatabaseSettings.Difference d : DatabaseSettings.differences(o, n)) {
      if (d.oldValue() == null) {
        continue;
      }
      try {
        Sql.execute(n, d.statement());
        done.add(d.statement());
      } catch (SQLException e) {
        warnings.add("new: " + d.describe() + "; setting it failed (" + FirstLine.of(e) + "): run on new as the database's owner"
            + (d.role() == null ? "" : " (for a role's: a role with CREATEROLE)") + " or a superuser: " + d.statement());
      }
    }
    return done;
  }

  /**
   * Runs the dump's script on new in one transaction, then resets the search_path it set. When a
   * statement fails, its error is the one reported: a connection the failure left closed would fail
   * the reset too ("This connection has been closed"), which would hide why.
   */
  static void restore(Connection n, String script, String user) throws ReplicatorException, SQLException {
    try {
      inTransaction(n, () -> {
        try (Statement s = n.createStatement()) {
          s.setEscapeProcessing(false);
          s.execute(script);
        }
        return null;
      });
    } catch (SQLException e) {
      resetSearchPath(n, e);
      if (e.getMessage() != null && e.getMessage().contains("client_encoding")) {
        // PgJDBC closes a connection whose client_encoding becomes other than UTF8 (SQLState 08006,
        // which would otherwise read as a connection lost to the network).
        throw new ReplicatorException(Failure.PRECONDITION, "new: the schema script set client_encoding to other than UTF8,"
            + " and the JDBC driver closed the connection (" + FirstLine.of(e.getMessage()) + "; schema changed nothing)",
            "use a pg_dump that writes UTF8 when given --encoding=UTF8, or copy the schema by hand with pg_dump | psql", e);
      }
      if (INSUFFICIENT_PRIVILEGE.equals(e.getSQLState())) {
        String message = FirstLine.of(e.getMessage());
        throw new ReplicatorException(Failure.PRIVILEGE, "new: the schema could not be created as " + user + ": " + message
            + " (schema changed nothing)", privilegeRemedy(message, user), e);
      }
      throw e;
    } catch (RuntimeException e) {
      resetSearchPath(n, e);
      throw e;
    }
    Sql.execute(n, "RESET search_path");
  }

  /** Resets the search_path after {@code failure}, keeping a failure of the reset only as suppressed by it. */
  private static void resetSearchPath(Connection n, Exception failure) {
    try {
      Sql.execute(n, "RESET search_path");
    } catch (SQLException | RuntimeException e) {
      failure.addSuppressed(e);
    }
  }

  /** The grant that lets {@code role} run the statement the server refused, read from its message. */
  static String privilegeRemedy(String message, String role) {
    String r = Sql.ident(role);
    Matcher m = DENIED.matcher(message);
    if (m.find()) {
      String object = Sql.ident(m.group(2));
      return switch (m.group(1)) {
        case "database" -> "GRANT CREATE ON DATABASE " + object + " TO " + r + ", as the database's owner, then run schema again";
        case "schema" -> "GRANT CREATE ON SCHEMA " + object + " TO " + r + ", as the schema's owner, then run schema again";
        default -> "CREATE EXTENSION " + object + " on new as a superuser (or the provider's admin role) first; schema then"
            + " finds it installed";
      };
    }
    return "grant " + r + " what that statement needs on new, or create that object there first as a role that may;"
        + " `cutover-replicator check` names the privileges each step needs";
  }

  /** Leaves out psql meta-commands ({@code \restrict} in recent pg_dump), our fence triggers and event triggers. */
  static String filter(String dump) {
    return EVENT_TRIGGERS.matcher(dump).replaceAll("").lines()
        .filter(l -> !l.startsWith("\\"))
        .filter(l -> !l.startsWith(FENCE_TRIGGER))
        .collect(Collectors.joining("\n", "", "\n"));
  }

  private static List<String> arguments(Endpoint e, Options options) {
    List<String> args = new ArrayList<>(List.of("--schema-only", "--exclude-schema=cutover", "--no-publications", "--no-subscriptions",
        // In UTF-8, whatever old's encoding: the dump is read as UTF-8, and PgJDBC closes a connection
        // whose client_encoding a script sets to anything else.
        "--encoding=UTF8"));
    if (options.noOwner()) {
      args.add("--no-owner");
    }
    if (options.noPrivileges()) {
      args.add("--no-privileges");
    }
    args.add("--lock-wait-timeout=" + options.lockWait().toMillis() + "ms");
    args.add("--host=" + e.host());
    args.add("--port=" + e.port());
    if (e.user() != null) {
      args.add("--username=" + e.user());
    }
    args.add("--dbname=" + dbname(e.database()));
    return args;
  }

  /**
   * A database name as pg_dump's and psql's {@code --dbname} reads it exactly: they take a value
   * holding {@code =} or starting {@code postgres://} as a connection string, so a database named
   * {@code port=5433 dbname=other} would send them (and the password) to another database or server.
   * Such a name goes as {@code dbname='…'}, quoted for libpq.
   */
  static String dbname(String database) {
    return database.indexOf('=') < 0 && !database.startsWith("postgresql://") && !database.startsWith("postgres://")
        ? database : "dbname=" + Sql.conninfoValue(database);
  }

  private static byte[] dump(String pgDump, Endpoint old, Options options) throws IOException, InterruptedException, ReplicatorException {
    List<String> command = new ArrayList<>();
    command.add(pgDump);
    command.addAll(arguments(old, options));
    ProcessBuilder pb = new ProcessBuilder(command);
    // Only the URL's settings: an inherited PGHOSTADDR, PGSERVICE or PGOPTIONS would take it elsewhere.
    LibpqEnvironment.clear(pb.environment());
    pb.environment().putAll(old.tlsEnvironment());
    if (old.password() != null) {
      pb.environment().put("PGPASSWORD", old.password());
    }
    pb.environment().put("PGCONNECT_TIMEOUT", "10");
    // pg_dump's and libpq's own messages in English, whatever the operator's LANG, LC_* or LANGUAGE (gettext ignores
    // LANGUAGE under C): they are read below for the cause. Nothing else of the dump depends on the locale: --encoding
    // sets its encoding. The server's messages follow its lc_messages, which only a superuser may change.
    pb.environment().put("LC_ALL", "C");
    Process p = pb.start();
    CompletableFuture<byte[]> err = CompletableFuture.supplyAsync(() -> readAll(p.getErrorStream()));
    CompletableFuture<byte[]> out = CompletableFuture.supplyAsync(() -> readAll(p.getInputStream()));
    if (!p.waitFor(DUMP_LIMIT.toMinutes(), TimeUnit.MINUTES)) {
      p.destroyForcibly();
      throw new ReplicatorException(Failure.TIMEOUT, "pg_dump did not finish on old within " + DUMP_LIMIT.toMinutes()
          + " minutes", "check that old answers and what its sessions wait for"
          + " (pg_stat_activity), then run schema again");
    }
    if (p.exitValue() != 0) {
      String message = new String(err.join(), StandardCharsets.UTF_8).trim().replace('\n', ' ');
      if (message.contains("permission denied")) {
        throw new ReplicatorException(Failure.PRIVILEGE, "pg_dump failed on old: " + message, "pg_dump reads and locks every"
            + " object it dumps: connect to old as their owner, or GRANT SELECT on them (USAGE on their schemas) to "
            + (old.user() == null ? "the role schema connects as" : Sql.ident(old.user())));
      }
      if (message.contains("LOCK TABLE") || message.contains("could not obtain lock")) {
        throw new ReplicatorException(Failure.TIMEOUT, "pg_dump could not lock a table on old within "
            + options.lockWait().toMillis() + " ms (--lock-wait): " + message, "a session on old holds or awaits an ACCESS"
            + " EXCLUSIVE lock on it (a migration's ALTER TABLE, VACUUM FULL, a transaction left idle or prepared;"
            + " pg_locks joined to pg_stat_activity names it): let it finish or end it, then run schema again");
      }
      // It logs in as the JDBC sessions do, yet may be refused where they were not (libpq may reach "localhost" at ::1
      // where PgJDBC reached 127.0.0.1, and pg_hba.conf admit only one): the remedy connect gives that cause.
      throw new ReplicatorException(Failure.CONNECTION, "pg_dump failed on old: " + message, old.libpqLoginRemedy(message));
    }
    return out.join();
  }

  private static byte[] readAll(InputStream in) {
    try (in) {
      ByteArrayOutputStream b = new ByteArrayOutputStream();
      in.transferTo(b);
      return b.toByteArray();
    } catch (IOException e) {
      return new byte[0];
    }
  }

  /** The commands to copy the schema by hand, passwords taken from the environment, never shown. */
  public static String manualCommand(Endpoint old, Endpoint nw, Options options) {
    String dump = tls(old) + "PGPASSWORD=\"$CUTOVER_REPLICATOR_OLD_PASSWORD\" pg_dump " + arguments(old, options).stream()
        .map(Quoting::shellWord).collect(Collectors.joining(" "));
    String restore = tls(nw) + "PGPASSWORD=\"$CUTOVER_REPLICATOR_NEW_PASSWORD\" psql --set ON_ERROR_STOP=1 --single-transaction"
        + " --host=" + Quoting.shellWord(nw.host()) + " --port=" + Quoting.shellWord(nw.port())
        + (nw.user() == null ? "" : " --username=" + Quoting.shellWord(nw.user()))
        + " " + Quoting.shellWord("--dbname=" + dbname(nw.database()));
    return dump + " | grep -v '^CREATE TRIGGER cutover_fence ' | sed -e '/^CREATE EVENT TRIGGER cutover_/,/;$/d'"
        + " -e '/^ALTER EVENT TRIGGER cutover_/d' | " + restore;
  }

  /** The endpoint's TLS settings as environment assignments before a command, each followed by a space. */
  private static String tls(Endpoint e) {
    return e.tlsEnvironment().entrySet().stream().map(v -> v.getKey() + "=" + Quoting.shellWord(v.getValue()) + " ")
        .collect(Collectors.joining());
  }

  private record Tool(String path, int major) {}

  /** The major version of the newest pg_dump this machine offers, or empty. */
  public static java.util.OptionalInt availablePgDump() {
    Tool t = find(null, 0);
    return t == null ? java.util.OptionalInt.empty() : java.util.OptionalInt.of(t.major);
  }

  /** The given pg_dump, or the newest on PATH or under /usr/lib/postgresql; null when none. */
  static Tool find(String given, int wanted) {
    List<Path> candidates = new ArrayList<>();
    if (given != null) {
      candidates.add(Paths.get(given));
    } else {
      String path = System.getenv("PATH");
      if (path != null) {
        for (String dir : path.split(File.pathSeparator)) {
          if (!dir.isEmpty()) {
            candidates.add(Paths.get(dir, "pg_dump"));
          }
        }
      }
      Path lib = Paths.get("/usr/lib/postgresql");
      if (Files.isDirectory(lib)) {
        try (DirectoryStream<Path> versions = Files.newDirectoryStream(lib)) {
          for (Path v : versions) {
            candidates.add(v.resolve("bin").resolve("pg_dump"));
          }
        } catch (IOException ignored) {
          // An unreadable directory offers no candidates.
        }
      }
    }
    Tool best = null;
    for (Path c : candidates) {
      if (!Files.isExecutable(c)) {
        continue;
      }
      int major = version(c);
      if (major > 0 && (best == null || major > best.major)) {
        best = new Tool(c.toString(), major);
      }
    }
    return best;
  }

  private static int version(Path pgDump) {
    try {
      ProcessBuilder pb = new ProcessBuilder(pgDump.toString(), "--version").redirectErrorStream(true);
      LibpqEnvironment.clear(pb.environment());
      Process p = pb.start();
      String out = new String(readAll(p.getInputStream()), StandardCharsets.UTF_8);
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return -1;
      }
      Matcher m = VERSION.matcher(out);
      return m.find() ? Integer.parseInt(m.group(1)) : -1;
    } catch (IOException | InterruptedException e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      return -1;
    }
  }
}
