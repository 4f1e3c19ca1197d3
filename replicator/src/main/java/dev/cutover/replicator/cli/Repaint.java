package dev.cutover.replicator.cli;

import dev.cutover.common.Threads;
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
   * until interrupted).
   */
  static void watch(boolean watch, Duration interval, int count, Show show) throws Exception {
    for (int i = 0; i == 0 || watch && (count == 0 || i < count); i++) {
      if (i > 0) {
        Thread.sleep(interval.toMillis());
      }
      show.run();
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
