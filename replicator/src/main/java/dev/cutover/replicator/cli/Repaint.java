package dev.cutover.replicator.cli;

import dev.cutover.common.Threads;
import dev.cutover.replicator.Failure;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.sql.Sql;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Paints again every interval: a progress painter on a background thread until closed ({@link
 * #every}), or a {@code --watch} command on its own thread ({@link #watch}). Painting keeps to the
 * interval (the next paint is due an interval after the last was due, not after it ended).
 */
final class Repaint implements AutoCloseable {
  /** One paint of a {@code --watch} command. */
  @FunctionalInterface
  interface Show {
    void run() throws Exception;
  }

  private final ScheduledExecutorService painter;

  private Repaint(String thread, Duration every, Runnable paint) {
    this.painter = Threads.scheduler(thread);
    painter.scheduleAtFixedRate(paint, every.toNanos(), every.toNanos(), TimeUnit.NANOSECONDS);
  }

  /** Calls {@code paint} every {@code every} on a daemon thread named {@code thread}, first after one interval, until closed. */
  static Repaint every(String thread, Duration every, Runnable paint) {
    return new Repaint(thread, every, paint);
  }

  /**
   * Shows once, or with {@code watch} again every {@code interval}, {@code count} times in all (0:
   * until interrupted). Once it has shown, a watch outlives a side it cannot reach ({@link
   * Failure#CONNECTION}: down, refusing, or silent): it says so on {@code err} and tries again at the
   * next print, so that an operator watching through an outage sees it and sees it end. The first
   * show and the last of {@code count} fail as a single show would: a wrong URL or password is not
   * an outage to wait out.
   */
  static void watch(boolean watch, Duration interval, int count, PrintWriter err, Show show) throws Exception {
    boolean shown = false;
    for (int i = 0; i == 0 || watch && (count == 0 || i < count); i++) {
      if (i > 0) {
        Thread.sleep(interval.toMillis());
      }
      try {
        show.run();
        shown = true;
      } catch (ReplicatorException e) {
        boolean last = !watch || count != 0 && i + 1 >= count;
        if (!shown || last || e.failure() != Failure.CONNECTION) {
          throw e;
        }
        err.println("cutover-replicator: " + Sql.maskSecrets(e.oneLine()) + " (trying again in " + Units.millis(interval.toMillis()) + ")");
        err.flush();
      }
    }
  }

  /** Stops painting: a paint under way may end first (waited for up to a second). */
  @Override
  public void close() {
    painter.shutdownNow();
    try {
      painter.awaitTermination(1, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
