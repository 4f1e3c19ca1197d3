package dev.cutover.bench;

import dev.cutover.common.LibpqEnvironment;
import dev.cutover.testkit.PostgresServer;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code pg_dump} and {@code psql} from the machine's PostgreSQL client (the embedded server
 * binaries do not ship them), found on {@code PATH}. The copy benchmark's {@code pg_dump | psql}
 * baseline needs both; without them it fails with the line to install them, never skips.
 */
final class PgClient {
  static final String INSTALL = "apt-get install -y postgresql-client";
  private static final Pattern VERSION = Pattern.compile("\\(PostgreSQL\\) (\\d+)(\\.\\d+)?");

  private final Path pgDump;
  private final Path psql;
  private final String pgDumpVersion;
  private final String psqlVersion;

  private PgClient(Path pgDump, Path psql, String pgDumpVersion, String psqlVersion) {
    this.pgDump = pgDump;
    this.psql = psql;
    this.pgDumpVersion = pgDumpVersion;
    this.psqlVersion = psqlVersion;
  }

  /** Thrown when pg_dump or psql is missing or too old; the message says how to install them. */
  static final class MissingClientException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    MissingClientException(String message) {
      super(message);
    }
  }

  /**
   * Finds pg_dump and psql on {@code PATH}; pg_dump must be at least {@code oldMajor} (it refuses
   * to dump a newer server).
   *
   * @throws MissingClientException when either is missing or pg_dump is too old
   */
  static PgClient require(int oldMajor) {
    Path dump = onPath("pg_dump");
    Path sql = onPath("psql");
    if (dump == null || sql == null) {
      throw new MissingClientException((dump == null && sql == null ? "pg_dump and psql are" : (dump == null ? "pg_dump is" : "psql is"))
          + " not on PATH; the copy benchmark's pg_dump | psql baseline needs both (PostgreSQL client "
          + oldMajor + " or newer). Install them with: " + INSTALL
          + " (Debian/Ubuntu, as root, after apt-get update; it brings pg_dump and psql 15 on Debian 12),"
          + " or put another PostgreSQL client's bin directory first on PATH");
    }
    String dumpVersion = version(dump);
    int major = major(dumpVersion);
    if (major < oldMajor) {
      throw new MissingClientException(dump + " is " + dumpVersion + ", which cannot dump a PostgreSQL " + oldMajor
          + " server; install a newer client (" + INSTALL + ") or put one first on PATH");
    }
    return new PgClient(dump, sql, dumpVersion, version(sql));
  }

  String pgDumpVersion() {
    return pgDumpVersion;
  }

  String psqlVersion() {
    return psqlVersion;
  }

  /**
   * Runs {@code pg_dump <source db> | psql <target db>} through an operating-system pipe (the JVM
   * moves no data) and waits for both: a full dump, schema and data, into an empty database.
   * psql gets {@code maintenance_work_mem} through PGOPTIONS, for its index builds.
   *
   * @throws IOException when either exits non-zero; the message carries the tail of its errors
   */
  void dumpAndRestore(PostgresServer source, String sourceDb, PostgresServer target, String targetDb,
      String maintenanceWorkMem) throws IOException, InterruptedException {
    Path dumpErr = Files.createTempFile("bench-pg_dump", ".err");
    Path psqlErr = Files.createTempFile("bench-psql", ".err");
    try {
      ProcessBuilder dump = new ProcessBuilder(pgDumpCommand(source, sourceDb))
          .redirectError(dumpErr.toFile());
      env(dump, source);
      ProcessBuilder load = new ProcessBuilder(psqlCommand(target, targetDb))
          .redirectOutput(ProcessBuilder.Redirect.DISCARD)
          .redirectError(psqlErr.toFile());
      env(load, target);
      load.environment().put("PGOPTIONS", "-c maintenance_work_mem=" + maintenanceWorkMem);
      List<Process> pipeline = ProcessBuilder.startPipeline(List.of(dump, load));
      try {
        for (Process p : pipeline) {
          if (!p.waitFor(2, TimeUnit.HOURS)) {
            throw new IOException("pg_dump | psql did not finish within 2 hours");
          }
        }
      } finally {
        pipeline.forEach(Process::destroy);
      }
      int dumpExit = pipeline.get(0).exitValue();
      int psqlExit = pipeline.get(1).exitValue();
      if (dumpExit != 0 || psqlExit != 0) {
        throw new IOException("pg_dump | psql failed (pg_dump exit " + dumpExit + ", psql exit " + psqlExit + "): "
            + tail(dumpErr) + " " + tail(psqlErr));
      }
    } finally {
      Files.deleteIfExists(dumpErr);
      Files.deleteIfExists(psqlErr);
    }
  }

  /** The pipeline as a shell line, for the report (no password: it goes through PGPASSWORD). */
  String describe(PostgresServer source, String sourceDb, PostgresServer target, String targetDb, String maintenanceWorkMem) {
    return String.join(" ", pgDumpCommand(source, sourceDb)) + " | PGOPTIONS='-c maintenance_work_mem=" + maintenanceWorkMem
        + "' " + String.join(" ", psqlCommand(target, targetDb));
  }

  private List<String> pgDumpCommand(PostgresServer source, String db) {
    return List.of(pgDump.getFileName().toString(), "-h", source.host(), "-p", Integer.toString(source.port()),
        "-U", source.user(), "-d", db, "--no-publications", "--no-subscriptions");
  }

  private List<String> psqlCommand(PostgresServer target, String db) {
    return List.of(psql.getFileName().toString(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", target.host(),
        "-p", Integer.toString(target.port()), "-U", target.user(), "-d", db);
  }

  private void env(ProcessBuilder pb, PostgresServer server) {
    // The commands name the programs by file name; PATH is where they were found.
    Map<String, String> env = pb.environment();
    env.put("PATH", pgDump.getParent() + File.pathSeparator + psql.getParent() + File.pathSeparator + env.getOrDefault("PATH", ""));
    // Connected as the command line says: no inherited PGHOSTADDR, PGOPTIONS, PGPASSWORD...
    LibpqEnvironment.clear(env);
    if (!server.password().isEmpty()) {
      env.put("PGPASSWORD", server.password());
    }
  }

  private static String tail(Path file) throws IOException {
    String text = Files.readString(file, StandardCharsets.UTF_8).strip();
    return text.length() > 2000 ? "..." + text.substring(text.length() - 2000) : text;
  }

  private static Path onPath(String program) {
    String path = System.getenv("PATH");
    if (path == null) {
      return null;
    }
    for (String dir : path.split(File.pathSeparator)) {
      if (dir.isEmpty()) {
        continue;
      }
      Path candidate = Path.of(dir, program);
      if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
        return candidate;
      }
    }
    return null;
  }

  /** "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)" and the like. */
  private static String version(Path program) {
    try {
      Process p = new ProcessBuilder(program.toString(), "--version").redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0 || !VERSION.matcher(out).find()) {
        throw new MissingClientException(program + " --version did not print a PostgreSQL version (" + out
            + "); install the PostgreSQL client with: " + INSTALL);
      }
      return out;
    } catch (IOException e) {
      throw new MissingClientException(program + " could not be run (" + e.getMessage() + "); install the PostgreSQL client with: " + INSTALL);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new MissingClientException("interrupted while running " + program + " --version");
    }
  }

  private static int major(String version) {
    Matcher m = VERSION.matcher(version);
    if (!m.find()) {
      return 0;
    }
    // Before 10 the major version had two parts (9.6); such a client is too old either way.
    return Integer.parseInt(m.group(1));
  }
}
