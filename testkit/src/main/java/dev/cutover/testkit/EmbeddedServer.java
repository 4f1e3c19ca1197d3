package dev.cutover.testkit;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;

/**
 * A PostgreSQL server this JVM starts from the bundled binaries, on a free port, with data in a
 * temp folder copied from {@link DataTemplates} and deleted when it stops.
 */
final class EmbeddedServer implements PostgresServer {

  /** Generous, because CI machines may start several servers at once. */
  private static final Duration STARTUP_WAIT = Duration.ofSeconds(60);

  private final int majorVersion;
  private final EmbeddedPostgres postgres;
  private final Path data;
  /** Null where {@link ServerSettings#NUDGER_PROPERTY} is off. */
  private final ReplicationNudger nudger;

  private EmbeddedServer(int majorVersion, EmbeddedPostgres postgres, Path data) {
    this.majorVersion = majorVersion;
    this.postgres = postgres;
    this.data = data;
    this.nudger = ServerSettings.nudges() ? ReplicationNudger.start(this) : null;
  }

  /**
   * Starts one, and makes sure the server on its port is this one. zonky takes a free port and
   * releases it before the server binds it; another test JVM (surefire runs two forks) can take the
   * same port meanwhile. The server that loses cannot bind and exits, but zonky, which waits until
   * a connection to the port succeeds, takes the other JVM's server for it: its tests then ran on a
   * server that went away when the other JVM's test class ended ("Connection refused" in
   * FlagProviderSettingsTest, 2026-12-02). The server asked for its data directory says whose it is.
   */
  static EmbeddedServer start(int majorVersion, Provider.Side side) throws IOException {
    for (int attempt = 1; ; attempt++) {
      Path data = Files.createTempDirectory("cutover-pg");
      DataTemplates.copyInto(data, majorVersion, side);
      EmbeddedPostgres.Builder builder = builder(majorVersion, data);
      ServerSettings.forVersion(majorVersion).forEach(builder::setServerConfig);
      EmbeddedPostgres postgres = builder.start();
      if (servesFrom(postgres, data)) {
        return new EmbeddedServer(majorVersion, postgres, data);
      }
      try {
        postgres.close();
      } catch (IOException | RuntimeException e) {
        // Ours never ran: there is nothing of it to stop.
      }
      Directories.deleteQuietly(data);
      if (attempt == 3) {
        throw new IOException("port " + postgres.getPort() + " was taken by another server at each of 3 starts");
      }
    }
  }

  /**
   * zonky's builder for a server of {@code majorVersion} on {@code data}, which zonky initializes
   * only while it holds no cluster, and leaves in place when the server stops.
   */
  static EmbeddedPostgres.Builder builder(int majorVersion, Path data) throws IOException {
    RootAsUserNamespace.ensure();
    return EmbeddedPostgres.builder()
        .setPgBinaryResolver(new BundledBinaries(majorVersion))
        .setPGStartupWait(STARTUP_WAIT)
        .setDataDirectory(data)
        .setCleanDataDirectory(false);
  }

  private static boolean servesFrom(EmbeddedPostgres postgres, Path data) throws IOException {
    try (Connection c = postgres.getPostgresDatabase().getConnection(); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SHOW data_directory")) {
      rs.next();
      return Path.of(rs.getString(1)).toRealPath().equals(data.toRealPath());
    } catch (SQLException e) {
      throw new IOException("could not ask the server on port " + postgres.getPort() + " for its data directory", e);
    }
  }

  @Override
  public int majorVersion() {
    return majorVersion;
  }

  @Override
  public String host() {
    return "localhost";
  }

  @Override
  public int port() {
    return postgres.getPort();
  }

  /** The superuser zonky's initdb creates; local connections are trusted, so there is no password. */
  @Override
  public String user() {
    return "postgres";
  }

  @Override
  public String password() {
    return "";
  }

  @Override
  public void stop() {
    if (nudger != null) {
      nudger.close();
    }
    try {
      postgres.close();
    } catch (IOException e) {
      throw new UncheckedIOException("Could not stop embedded PostgreSQL " + label() + " on port " + port(), e);
    } finally {
      Directories.deleteQuietly(data);
    }
  }

  @Override
  public String toString() {
    return "embedded PostgreSQL " + label() + " on port " + port();
  }

  /** The major version as PostgreSQL names it: 9.6 before 10. */
  private String label() {
    return majorVersion == 9 ? "9.6" : String.valueOf(majorVersion);
  }
}
