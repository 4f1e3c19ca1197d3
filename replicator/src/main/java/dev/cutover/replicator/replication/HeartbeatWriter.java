package dev.cutover.replicator.replication;

import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.capture.Ticker;
import dev.cutover.replicator.sql.PeriodicWrite;
import java.time.Duration;

/**
 * Writes a heartbeat on a source database every interval after the last one ({@link PeriodicWrite}),
 * on its own daemon thread and connection, until closed. A failed beat is logged and the connection reopened at the next one,
 * so a restart of the source does not stop it. On trigger capture's source each beat is followed
 * by a tick in a transaction of its own ({@link Ticker#recordIfLogged}): a backlog written while
 * no apply runs is then applied in batches between them, not as one transaction.
 *
 * <p>Who runs it: {@code cutover-replicator heartbeat} (in the foreground, for as long as the
 * cutover lasts), {@code status --watch} (while it watches), or an application through
 * {@code Replicator.heartbeat(...)}.
 */
public final class HeartbeatWriter implements AutoCloseable {
  private final PeriodicWrite beats;

  private HeartbeatWriter(Endpoint source, Duration interval) {
    this.beats = PeriodicWrite.start("heartbeat", source, interval, c -> {
      Heartbeat.beat(c, source.side());
      Ticker.recordIfLogged(c);
    });
  }

  /**
   * Starts beating on {@code source} every {@code interval}.
   *
   * @throws IllegalArgumentException when the interval is below 10 ms
   */
  public static HeartbeatWriter start(Endpoint source, Duration interval) {
    requireInterval(interval);
    return new HeartbeatWriter(source, interval);
  }

  /**
   * Checks an interval as {@link #start} does.
   *
   * @throws IllegalArgumentException when the interval is below 10 ms
   */
  public static void requireInterval(Duration interval) {
    if (interval.toMillis() < 10) {
      throw new IllegalArgumentException("heartbeat interval must be at least 10ms, not " + interval.toMillis() + "ms");
    }
  }

  /** Beats written so far. */
  public long beats() {
    return beats.written();
  }

  /** The last failure's message, or null when the last beat succeeded. */
  public String lastError() {
    return beats.lastError();
  }

  /** Stops beating and closes the connection. */
  @Override
  public void close() {
    beats.close();
  }
}
