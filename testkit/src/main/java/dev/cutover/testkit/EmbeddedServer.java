package dev.cutover.testkit;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;

/** A PostgreSQL server this JVM starts from the bundled binaries, on a free port, with data in a temp folder. */
final class EmbeddedServer implements PostgresServer {

  /** Generous, because CI machines may start several servers at once. */
  private static final Duration STARTUP_WAIT = Duration.ofSeconds(60);

  private final int majorVersion;
  private final EmbeddedPostgres postgres;

  private EmbeddedServer(int majorVersion, EmbeddedPostgres postgres) {
    this.majorVersion = majorVersion;
    this.postgres = postgres;
  }

  static EmbeddedServer start(int majorVersion) throws IOException {
    EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder()
        .setPgBinaryResolver(new BundledBinaries(majorVersion))
        .setPGStartupWait(STARTUP_WAIT);
    ServerSettings.forVersion(majorVersion).forEach(builder::setServerConfig);
    return new EmbeddedServer(majorVersion, builder.start());
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
    try {
      postgres.close();
    } catch (IOException e) {
      throw new UncheckedIOException("Could not stop embedded PostgreSQL " + label() + " on port " + port(), e);
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
