package dev.cutover.replicator.sql;

import dev.cutover.common.Threads;
import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.ReplicatorException;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One small write on a database, again and again, on its own daemon thread and connection, until
 * closed: heartbeats and capture ticks. A failed write is logged once per run of failures and its
 * connection reopened at the next write, so a restart of the database does not stop it, nor does a
 * peer that went silent: a write waits for its answer ten intervals at most (at least 5 s). Writes
 * follow each other {@code interval} apart (fixed delay: no burst to catch up after an outage).
 */
public final class PeriodicWrite implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(PeriodicWrite.class);
  /** The least a write may wait for its answer (see {@link #silence}). */
  private static final Duration MIN_SILENCE = Duration.ofSeconds(5);

  /** The write, on the loop's own connection. */
  @FunctionalInterface
  public interface Write {
    void run(Connection c) throws SQLException, ReplicatorException;
  }

  private final String role;
  private final Endpoint target;
  private final Write write;
  /** How long one write may wait for an answer: ten intervals, at least {@link #MIN_SILENCE}; then the next write reconnects. */
  private final Duration silence;
  private final ScheduledExecutorService scheduler;
  private final AtomicLong written = new AtomicLong();
  private final AtomicReference<String> lastError = new AtomicReference<>();
  private Connection connection; // only the scheduler's thread, then close() after it ended

  private PeriodicWrite(String role, Endpoint target, Duration interval, Write write) {
    this.role = role;
    this.target = target;
    this.write = write;
    this.silence = Collections.max(List.of(MIN_SILENCE, interval.multipliedBy(10)));
    this.scheduler = Threads.scheduler("cutover-" + role + "-" + target.side().label());
    scheduler.scheduleWithFixedDelay(this::once, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Starts writing on {@code target} now and every {@code interval}; {@code role} names the thread and the log line. */
  public static PeriodicWrite start(String role, Endpoint target, Duration interval, Write write) {
    return new PeriodicWrite(role, target, interval, write);
  }

  private void once() {
    try {
      if (connection == null || connection.isClosed()) {
        connection = target.connect();
        Sql.answerWithin(silence, connection);
      }
      write.run(connection);
      written.incrementAndGet();
      lastError.set(null);
    } catch (SQLException | ReplicatorException | RuntimeException e) {
      if (lastError.getAndSet(String.valueOf(e.getMessage())) == null) {
        LOG.warn("{} on {} failed: {}", role, target, e.getMessage());
      }
      closeConnection();
    }
  }

  /** Writes that succeeded so far. */
  public long written() {
    return written.get();
  }

  /** The last failure's message, or null when the last write succeeded. */
  public String lastError() {
    return lastError.get();
  }

  /** Stops writing (a write under way may finish) and closes the connection. */
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
        // Closing a broken connection; the next write opens another.
      }
      connection = null;
    }
  }
}
