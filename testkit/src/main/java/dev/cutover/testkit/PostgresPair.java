package dev.cutover.testkit;

import dev.cutover.common.Threads;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The two servers of a cutover: the old one the application leaves and the new one it moves to.
 *
 * <p>The provider comes from the system property {@code cutover.test.postgres}: {@code embedded}
 * (default, bundled binaries 9.6 and 10 to 18), {@code testcontainers} (Docker images) or {@code external}
 * (URLs in {@code CUTOVER_TEST_OLD_URL} / {@code CUTOVER_TEST_NEW_URL}, credentials in
 * {@code CUTOVER_TEST_USER} / {@code CUTOVER_TEST_PASSWORD}). In JUnit tests, prefer
 * {@link PostgresPairExtension}, which shares one pair per test class.
 */
public final class PostgresPair implements AutoCloseable {

  private final PostgresServer oldServer;
  private final PostgresServer newServer;

  private PostgresPair(PostgresServer oldServer, PostgresServer newServer) {
    this.oldServer = oldServer;
    this.newServer = newServer;
  }

  /**
   * Starts both servers at once, each on its own thread, since each takes seconds to start.
   *
   * @throws IllegalArgumentException if a version has no bundled binaries or the provider is unknown
   * @throws IllegalStateException if a server does not start; the other one is then stopped
   */
  public static PostgresPair start(int oldMajorVersion, int newMajorVersion) {
    Provider provider = Provider.fromSystemProperty();
    ExecutorService starters = Executors.newFixedThreadPool(2, Threads.daemon("postgres-pair-starter"));
    try {
      Future<PostgresServer> oldServer = starters.submit(() -> provider.start(Provider.Side.OLD, oldMajorVersion));
      Future<PostgresServer> newServer = starters.submit(() -> provider.start(Provider.Side.NEW, newMajorVersion));
      PostgresServer startedOld = awaitStarted(oldServer, newServer, "old", oldMajorVersion, provider);
      PostgresServer startedNew = awaitStarted(newServer, oldServer, "new", newMajorVersion, provider);
      return new PostgresPair(startedOld, startedNew);
    } finally {
      starters.shutdown();
    }
  }

  /** Waits for {@code starting}; if it fails, stops {@code other} too so that no server is left behind. */
  private static PostgresServer awaitStarted(Future<PostgresServer> starting, Future<PostgresServer> other, String side, int majorVersion, Provider provider) {
    try {
      return starting.get();
    } catch (ExecutionException | InterruptedException e) {
      stopQuietly(other);
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
      if (cause instanceof IllegalArgumentException) {
        throw (IllegalArgumentException) cause;
      }
      // The cause's words in the message too: a CI summary shows a failed test's first line only.
      throw new IllegalStateException("Could not start the " + side + " PostgreSQL " + majorVersion + " server (" + provider.name().toLowerCase() + "): " + cause, cause);
    }
  }

  private static void stopQuietly(Future<PostgresServer> server) {
    try {
      server.get().stop();
    } catch (Exception ignored) {
      // It failed to start as well, or is being reported already; nothing is left to stop.
    }
  }

  /** The server the application moves away from. */
  public PostgresServer oldServer() {
    return oldServer;
  }

  /** The server the application moves to. */
  public PostgresServer newServer() {
    return newServer;
  }

  /** Stops both servers, the new one even if stopping the old one fails. */
  @Override
  public void close() {
    try {
      oldServer.stop();
    } finally {
      newServer.stop();
    }
  }

  @Override
  public String toString() {
    return "old: " + oldServer + ", new: " + newServer;
  }
}
