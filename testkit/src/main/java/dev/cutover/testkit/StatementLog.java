package dev.cutover.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

/**
 * A server's log with every statement in it, for tests that a secret never reaches it: the server
 * is set to log each statement ({@code log_statement = all}) and each one's duration with its text
 * and bind parameters ({@code log_min_duration_statement = 0}), then restarted with its output in a
 * file of the test's, so that what it runs from then on is all there. Restarted rather than reloaded:
 * the settings hold for the first session after, with no wait for a reload to reach it.
 */
public final class StatementLog {
  private final Path file;

  private StatementLog(Path file) {
    this.file = file;
  }

  /**
   * Sets {@code server} (on this machine) to log every statement and restarts it with its output in a
   * new file under {@code target/server-logs} whose name starts with {@code name}.
   */
  public static StatementLog of(PostgresServer server, String name) throws SQLException, IOException {
    try (Connection c = server.connect(); Statement s = c.createStatement()) {
      s.execute("ALTER SYSTEM SET log_statement = 'all'");
      s.execute("ALTER SYSTEM SET log_min_duration_statement = 0");
    }
    Path file = Files.createTempFile(Files.createDirectories(Path.of("target", "server-logs")), name + "-", ".log");
    ServerProcess.of(server, file).restart(Duration.ofSeconds(60));
    return new StatementLog(file);
  }

  /** Everything the server has logged since the restart. */
  public String text() throws IOException {
    return Files.readString(file);
  }

  /** The lines of the log that hold any of {@code secrets}. */
  public List<String> linesWith(String... secrets) throws IOException {
    try (Stream<String> lines = Files.lines(file)) {
      return lines.filter(l -> Arrays.stream(secrets).anyMatch(l::contains)).toList();
    }
  }

  @Override
  public String toString() {
    return file.toString();
  }
}
