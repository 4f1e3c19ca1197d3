package dev.cutover.replicator.capture;

import dev.cutover.common.Threads;
import dev.cutover.replicator.Endpoint;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records a tick (the source's {@code txid_current_snapshot()}) in {@code cutover.capture_tick}
 * every interval, on its own daemon thread and connection, until closed: the boundaries at which
 * a backlog is cut into batches (see {@link ChangeLog#backlogTick}).
 *
 * <p>Why: a batch is applied in one transaction on the target, and a row updated many times in
 * one transaction leaves every version it made there (none can be pruned before commit), so each
 * further update of it walks them all. Without intermediate ticks, the changes written during a
 * long copy, or while apply was stopped, would come as one batch, and a hot row (a counter, a
 * branch total) would make it quadratic. Ticks are taken in transactions of their own, which write
 * nothing captured, so each is a true boundary. Start runs one during the copy; each applier runs
 * one for its source (PgQ's ticker plays this part there).
 */
public final class Ticker implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Ticker.class);

  private final Endpoint source;
  private final ScheduledExecutorService scheduler;
  private Connection connection;
  private boolean warned;

  private Ticker(Endpoint source, Duration interval) {
    this.source = source;
    this.scheduler = Threads.scheduler("cutover-ticker-" + source.side().label());
    scheduler.scheduleWithFixedDelay(this::tick, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Starts ticking on {@code source} (whose change log must exist) every {@code interval}. */
  public static Ticker start(Endpoint source, Duration interval) {
    return new Ticker(source, interval);
  }

  private void tick() {
    try {
      if (connection == null || connection.isClosed()) {
        connection = source.connect();
      }
      try (Statement s = connection.createStatement()) {
        s.execute("INSERT INTO cutover.capture_tick (snapshot) VALUES (txid_current_snapshot()::text)");
      }
      warned = false;
    } catch (Exception e) {
      if (!warned) {
        LOG.warn("ticker on {}: {}", source.side().label(), e.getMessage());
        warned = true;
      }
      closeConnection();
    }
  }

  private void closeConnection() {
    if (connection != null) {
      try {
        connection.close();
      } catch (SQLException ignored) {
        // Reopened at the next tick.
      }
      connection = null;
    }
  }

  @Override
  public void close() {
    scheduler.shutdownNow();
    try {
      scheduler.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    closeConnection();
  }
}
