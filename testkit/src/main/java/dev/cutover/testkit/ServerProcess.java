package dev.cutover.testkit;

import dev.cutover.common.Poll;
import io.zonky.test.db.postgres.util.LinuxUtils;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The operating-system processes of a PostgreSQL server running on this machine, for tests that
 * crash it: {@link #kill()} is a {@code kill -9} of the postmaster and every process it started (a
 * machine losing power, as far as one server can), {@link #restart(Duration)} starts it again on the
 * same data directory and port with the options it had, so that clients find it where it was and it
 * recovers from its write-ahead log as after a real crash.
 *
 * <p>Found through the server itself ({@code SHOW data_directory}, which needs a superuser), so it
 * works for any server this machine runs, embedded or not; the binaries are those named in the data
 * directory's {@code postmaster.opts}, which is also where {@code pg_ctl restart} takes the options
 * from. Output of a restarted server goes to the log file given at {@link #of}; restart once right
 * away to have every line of the server's log there.
 *
 * <p>Not thread-safe: one owner kills and restarts.
 */
public final class ServerProcess {
  private static final Pattern BINARY = Pattern.compile("^(\\S+|\"[^\"]+\")");
  /** A foreign process's exit cannot be awaited, only asked about. */
  private static final Poll EXIT_POLL = Poll.every(Duration.ofMillis(10));

  private final PostgresServer server;
  private final Path dataDirectory;
  private final Path pgCtl;
  private final Path log;

  private ServerProcess(PostgresServer server, Path dataDirectory, Path pgCtl, Path log) {
    this.server = server;
    this.dataDirectory = dataDirectory;
    this.pgCtl = pgCtl;
    this.log = log;
  }

  /**
   * Finds the processes of {@code server}, which must run on this machine.
   *
   * @param log where the server writes its output after each {@link #restart}
   * @throws IllegalStateException when the server is not on this machine or its binaries cannot be found
   */
  public static ServerProcess of(PostgresServer server, Path log) throws SQLException {
    Path data;
    try (Connection c = server.connect(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SHOW data_directory")) {
      rs.next();
      data = Path.of(rs.getString(1));
    }
    Path opts = data.resolve("postmaster.opts");
    if (!Files.isReadable(opts)) {
      throw new IllegalStateException(server + " keeps its data in " + data + ", which this machine cannot read:"
          + " only a server on this machine can be killed and restarted");
    }
    String line;
    try {
      line = Files.readString(opts, StandardCharsets.UTF_8).trim();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + opts, e);
    }
    Matcher m = BINARY.matcher(line);
    if (!m.find()) {
      throw new IllegalStateException(opts + " does not start with the postgres binary: " + line);
    }
    Path postgres = Path.of(m.group(1).replace("\"", ""));
    Path pgCtl = postgres.resolveSibling("pg_ctl");
    if (!Files.isExecutable(pgCtl)) {
      throw new IllegalStateException("no pg_ctl next to " + postgres + ", which runs " + server);
    }
    return new ServerProcess(server, data, pgCtl, log);
  }

  public Path dataDirectory() {
    return dataDirectory;
  }

  /**
   * {@code pgCtl} with {@code args} as zonky runs it: in a user namespace where one is available,
   * since pg_ctl refuses to run as root, and in a user namespace it is not.
   */
  static List<String> pgCtlCommand(Path pgCtl, String... args) {
    List<String> command = new ArrayList<>();
    if (LinuxUtils.isUnshareAvailable()) {
      command.addAll(List.of("unshare", "-U"));
    }
    command.add(pgCtl.toString());
    command.addAll(List.of(args));
    return command;
  }

  /** The server's own {@code pg_ctl}, for another server of its version ({@link Standby}). */
  Path pgCtl() {
    return pgCtl;
  }

  /** The file a restarted server writes its output to. */
  public Path log() {
    return log;
  }

  /** The postmaster's process id from {@code postmaster.pid}, or -1 when the file is gone. */
  public long postmasterPid() {
    try {
      List<String> lines = Files.readAllLines(dataDirectory.resolve("postmaster.pid"), StandardCharsets.UTF_8);
      return lines.isEmpty() ? -1 : Long.parseLong(lines.get(0).trim());
    } catch (java.nio.file.NoSuchFileException e) {
      return -1;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the postmaster.pid of " + server, e);
    } catch (NumberFormatException e) {
      return -1; // being written
    }
  }

  /** Whether the postmaster named in {@code postmaster.pid} is alive. */
  public boolean isRunning() {
    long pid = postmasterPid();
    return pid > 0 && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
  }

  /**
   * Kills the postmaster and every process it started with SIGKILL, and returns once all are gone.
   * The postmaster is stopped first (SIGSTOP), so it cannot start a backend between the moment its
   * children are listed and the moment they die; a child that survived would keep the shared memory
   * and the next start would refuse.
   *
   * @return whether a running server was killed
   */
  public boolean kill() {
    long pid = postmasterPid();
    ProcessHandle postmaster = pid > 0 ? ProcessHandle.of(pid).orElse(null) : null;
    if (postmaster == null || !postmaster.isAlive()) {
      return false;
    }
    signal("STOP", pid);
    List<ProcessHandle> all = new ArrayList<>();
    all.add(postmaster);
    postmaster.descendants().forEach(all::add);
    all.forEach(ProcessHandle::destroyForcibly);
    long deadline = Poll.deadline(Duration.ofSeconds(30));
    for (ProcessHandle p : all) {
      if (!EXIT_POLL.until(deadline, () -> !p.isAlive())) {
        if (Thread.currentThread().isInterrupted()) {
          throw new IllegalStateException("interrupted while waiting for a killed process to exit");
        }
        throw new IllegalStateException("process " + p.pid() + " of " + server + " survived SIGKILL for 30 s");
      }
    }
    return true;
  }

  /**
   * Starts the server again on the same data directory, port and options ({@code pg_ctl restart},
   * which also stops it first if it still runs) and waits until it accepts connections.
   *
   * @throws IllegalStateException when it does not come up within {@code timeout}; the log says why
   */
  public void restart(Duration timeout) {
    long seconds = Math.max(1, timeout.toSeconds());
    List<String> command = pgCtlCommand(pgCtl, "restart", "-D", dataDirectory.toString(), "-m", "fast", "-w",
        "-t", Long.toString(seconds), "-l", log.toString());
    Process process;
    try {
      Files.createDirectories(log.toAbsolutePath().getParent());
      process = new ProcessBuilder(command).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + pgCtl + " for " + server, e);
    }
    try {
      if (!process.waitFor(seconds + 10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new IllegalStateException("pg_ctl restart of " + server + " did not return within " + (seconds + 10) + " s; see " + log);
      }
      if (process.exitValue() != 0) {
        throw new IllegalStateException("pg_ctl restart of " + server + " failed (exit " + process.exitValue() + "): "
            + tail(log) + " (" + log + ")");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while restarting " + server, e);
    }
  }

  /** The last lines of {@code file}, joined, for an error message. */
  private static String tail(Path file) {
    try {
      List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
      return String.join(" | ", lines.subList(Math.max(0, lines.size() - 5), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  private static void signal(String signal, long pid) {
    try {
      Process p = new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      p.waitFor(10, TimeUnit.SECONDS);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot send SIG" + signal + " to process " + pid, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while signalling process " + pid, e);
    }
  }

  @Override
  public String toString() {
    return "processes of " + server + " (data in " + dataDirectory + ")";
  }
}
