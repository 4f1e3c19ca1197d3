package dev.cutover.testkit;

import dev.cutover.common.LibpqEnvironment;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A hot standby of a server running on this machine: a base backup taken by Debian's
 * {@code pg_basebackup} ({@code apt-get install postgresql-client}; {@code .ci/run} installs it),
 * which writes the standby's settings itself ({@code -R}), started with the primary's own binaries
 * on a free port. Read-only, in recovery, as a read replica's endpoint is. {@code pg_basebackup}
 * backs up servers of its own major version or older (Debian 12's is 15).
 */
public final class Standby implements AutoCloseable {
  private static final long START_SECONDS = 60;

  private final Path dir;
  private final Path pgCtl;
  private final int port;
  private final PostgresServer primary;

  private Standby(Path dir, Path pgCtl, int port, PostgresServer primary) {
    this.dir = dir;
    this.pgCtl = pgCtl;
    this.port = port;
    this.primary = primary;
  }

  /** Takes a base backup of {@code primary} and starts it as a standby that follows it. */
  public static Standby of(PostgresServer primary) throws IOException, SQLException, InterruptedException {
    Path pgCtl = ServerProcess.of(primary, Path.of("/dev/null")).pgCtl();
    Path dir = Files.createTempDirectory("standby");
    Path data = dir.resolve("data");
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Standby standby = new Standby(dir, pgCtl, port, primary);
    try {
      run(dir.resolve("basebackup.log"), primary.password(), "pg_basebackup", "-h", primary.host(), "-p", Integer.toString(primary.port()),
          "-U", primary.user(), "-D", data.toString(), "-R", "-X", "stream", "--checkpoint=fast", "--no-sync");
      List<String> start = ServerProcess.pgCtlCommand(pgCtl, "start", "-D", data.toString(), "-w", "-t", Long.toString(START_SECONDS),
          "-l", dir.resolve("standby.log").toString(), "-o", "-p " + port + " -c listen_addresses=localhost"
          + " -c unix_socket_directories=''" + primarysLimits(primary));
      try {
        run(dir.resolve("start.log"), "", start.toArray(String[]::new));
      } catch (IllegalStateException e) {
        throw new IllegalStateException(e.getMessage() + "; the standby's log: " + Files.readString(dir.resolve("standby.log")), e);
      }
      return standby;
    } catch (Exception e) {
      standby.close();
      throw e;
    }
  }

  /**
   * The settings a hot standby may not have lower than its primary, as the primary has them (a test
   * server sets some on its command line, which the base backup does not carry).
   */
  private static String primarysLimits(PostgresServer primary) throws SQLException {
    StringBuilder options = new StringBuilder();
    try (Connection c = primary.connect(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT name, setting"
        + " FROM pg_settings WHERE name IN ('max_connections', 'max_worker_processes', 'max_wal_senders',"
        + " 'max_prepared_transactions', 'max_locks_per_transaction')")) {
      while (rs.next()) {
        options.append(" -c ").append(rs.getString(1)).append('=').append(rs.getString(2));
      }
    }
    return options.toString();
  }

  /**
   * Runs {@code command}, with {@code password} (if any) as libpq's {@code PGPASSWORD} and no other
   * PG* variable (pg_basebackup connects, and writes its connection into the standby's settings, as its
   * command line says), its output into {@code log}.
   */
  private static void run(Path log, String password, String... command) throws IOException, InterruptedException {
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    LibpqEnvironment.clear(builder.environment());
    if (!password.isEmpty()) {
      builder.environment().put("PGPASSWORD", password);
    }
    Process p = builder.start();
    if (!p.waitFor(START_SECONDS + 10, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException(command[0] + " did not return within " + (START_SECONDS + 10) + " s: " + Files.readString(log));
    }
    if (p.exitValue() != 0) {
      throw new IllegalStateException(String.join(" ", command) + " failed (exit " + p.exitValue() + "): " + Files.readString(log)
          + ("pg_basebackup".equals(command[0]) ? " (apt-get install -y postgresql-client installs pg_basebackup)" : ""));
    }
  }

  /**
   * Promotes the standby to a primary of its own, as a failover does, and waits until it accepts
   * writes: a copy of the primary's databases on another server, its process ids unrelated.
   */
  public void promote() throws IOException, InterruptedException {
    List<String> promote = ServerProcess.pgCtlCommand(pgCtl, "promote", "-D", dir.resolve("data").toString(), "-w",
        "-t", Long.toString(START_SECONDS));
    run(dir.resolve("promote.log"), "", promote.toArray(String[]::new));
  }

  /** What the standby has logged since it started (its settings say what it logs). */
  public String log() throws IOException {
    return Files.readString(dir.resolve("standby.log"));
  }

  /**
   * Stops the standby (a clean shutdown): it keeps what it replayed so far and no more, as a
   * standby that fell behind its primary does.
   */
  public void halt() throws IOException, InterruptedException {
    run(dir.resolve("halt.log"), "", ServerProcess.pgCtlCommand(pgCtl, "stop", "-D", dir.resolve("data").toString(), "-m", "fast", "-w")
        .toArray(String[]::new));
  }

  /**
   * Starts a {@link #halt halted} standby as a primary of its own, on what it had replayed: a
   * failover to a standby that was behind. Without its standby.signal (12 and later) or
   * recovery.conf (before 12) it ends recovery at the end of its own WAL.
   */
  public void startPromoted() throws IOException, InterruptedException {
    Path data = dir.resolve("data");
    Files.deleteIfExists(data.resolve("standby.signal"));
    Files.deleteIfExists(data.resolve("recovery.conf"));
    List<String> start = ServerProcess.pgCtlCommand(pgCtl, "start", "-D", data.toString(), "-w", "-t", Long.toString(START_SECONDS),
        "-l", dir.resolve("promoted.log").toString(), "-o", "-p " + port + " -c listen_addresses=localhost -c unix_socket_directories=''");
    run(dir.resolve("promote.log"), "", start.toArray(String[]::new));
  }

  /** A JDBC URL for {@code database} on the standby, without credentials (the primary's hold). */
  public String jdbcUrl(String database) {
    return "jdbc:postgresql://localhost:" + port + "/" + database;
  }

  /** Stops the standby at once and deletes its files. */
  @Override
  public void close() {
    if (Files.exists(dir.resolve("data").resolve("postmaster.pid"))) {
      List<String> stop = ServerProcess.pgCtlCommand(pgCtl, "stop", "-D", dir.resolve("data").toString(), "-m", "immediate", "-w");
      try {
        run(dir.resolve("stop.log"), "", stop.toArray(String[]::new));
      } catch (IOException | RuntimeException e) {
        // Deleting its files below ends it too, at its next checkpoint at the latest.
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    Directories.deleteQuietly(dir);
  }

  @Override
  public String toString() {
    return "standby of " + primary + " on port " + port;
  }
}
