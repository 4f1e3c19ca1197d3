package dev.cutover.replicator.replication;

import dev.cutover.common.Threads;
import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.ReplicatorException;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes a heartbeat on a source database at a fixed interval, on its own daemon thread and
 * connection, until closed. A failed beat is logged and the connection reopened at the next one,
 * so a restart of the source does not stop it.
 *
 * <p>Who runs it: {@code cutover-replicator heartbeat} (in the foreground, for as long as the
 * cutover lasts), {@code status --watch} (while it watches), or an application through
 * {@code Replicator.heartbeat(...)}.
 */
public final class HeartbeatWriter implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(HeartbeatWriter.class);

  private final Endpoint source;
  private final ScheduledExecutorService scheduler;
  private final AtomicLong beats = new AtomicLong();
  private final AtomicReference<String> lastError = new AtomicReference<>();
  private Connection connection;

  private HeartbeatWriter(Endpoint source, Duration interval) {
    this.source = source;
    this.scheduler = Threads.scheduler("cutover-heartbeat-" + source.side().label());
    scheduler.scheduleAtFixedRate(this::beat, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
  }

  /**
   * Starts beating on {@code source} every {@code interval}.
   *
   * @throws IllegalArgumentException when the interval is below 10 ms
   */
  public static HeartbeatWriter start(Endpoint source, Duration interval) {
    if (interval.toMillis() < 10) {
      throw new IllegalArgumentException("heartbeat interval must be at least 10ms, not " + interval.toMillis() + "ms");
    }
    return new HeartbeatWriter(source, interval);
  }

  private void beat() {
    try {
      if (connection == null || connection.isClosed()) {
        connection = source.connect();
      }
      Heartbeat.beat(connection, source.side());
      beats.incrementAndGet();
      lastError.set(null);
    } catch (SQLException | ReplicatorException e) {
      if (lastError.getAndSet(e.getMessage()) == null) {
        LOG.warn("heartbeat on {} failed: {}", source, e.getMessage());
      }
      closeConnection();
    }
  }

  /** Beats written so far. */
  public long beats() {
    return beats.get();
  }

  /** The last failure's message, or null when the last beat succeeded. */
  public String lastError() {
    return lastError.get();
  }

  /** Stops beating and closes the connection. */
  @Override
  public void close() {
    scheduler.shutdown();
    try {
      if (!scheduler.awaitTermination(5, TimeUnit.SECONDS)) {
        scheduler.shutdownNow();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      scheduler.shutdownNow();
    }
    closeConnection();
  }

  private void closeConnection() {
    if (connection != null) {
      try {
        connection.close();
      } catch (SQLException ignored) {
        // Closing a broken connection; nothing to do.
      }
      connection = null;
    }
  }
}
