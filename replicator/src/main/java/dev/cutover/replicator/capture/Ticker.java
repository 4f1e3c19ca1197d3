package dev.cutover.replicator.capture;

import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.sql.PeriodicWrite;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;

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
 * one for its source (PgQ's ticker plays this part there); and the heartbeat writer records one
 * after each beat ({@link #recordIfLogged}), so that a backlog written while apply is stopped has
 * its boundaries too, as long as {@code heartbeat} (or {@code status --watch}) runs.
 */
public final class Ticker implements AutoCloseable {
  private final PeriodicWrite ticks;

  private Ticker(Endpoint source, Duration interval) {
    this.ticks = PeriodicWrite.start("ticker", source, interval,
        Ticker::record);
  }

  /** Records one tick on {@code c}, which must be in autocommit: the tick's own transaction. */
  private static void record(Connection c) throws SQLException {
    Sql.execute(c, "INSERT INTO cutover.capture_tick (snapshot) VALUES (txid_current_snapshot()::text)");
  }

  /**
   * Records one tick on {@code c} (in autocommit, as {@link #record}) where it holds a change log
   * (trigger capture's source); elsewhere does nothing.
   */
  public static void recordIfLogged(Connection c) throws SQLException {
    if (CaptureSchema.installed(c)) {
      record(c);
    }
  }

  /** Starts ticking on {@code source} (whose change log must exist) every {@code interval}. */
  public static Ticker start(Endpoint source, Duration interval) {
    return new Ticker(source, interval);
  }

  @Override
  public void close() {
    ticks.close();
  }
}
