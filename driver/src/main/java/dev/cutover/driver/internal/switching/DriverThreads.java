package dev.cutover.driver.internal.switching;

import dev.cutover.common.Threads;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;

/**
 * The background threads every router of this JVM shares: a pool for blocking work a switch hands
 * off so that it can bound it (opening connections ahead, ending stragglers, reading channels), and
 * one timer (watchdog deadlines, routers that linger). Made when first needed; {@link #shutdown}
 * ends them (an application server's redeploy must not keep them), and the next use makes new ones.
 *
 * <p>Each router's own threads (its switch and its heartbeat) belong to the router and end with it.
 */
public final class DriverThreads {
  private static ExecutorService blocking;
  private static ScheduledExecutorService timer;

  private DriverThreads() {}

  /** Threads for blocking work a switch waits for with a bound: {@code cutover-worker-<n>}. */
  public static synchronized ExecutorService blocking() {
    if (blocking == null || blocking.isShutdown()) {
      blocking = Threads.pool("cutover-worker");
    }
    return blocking;
  }

  /** The timer of deadlines and delayed closes: {@code cutover-timer}. Its tasks must return at once. */
  static synchronized ScheduledExecutorService timer() {
    if (timer == null || timer.isShutdown()) {
      timer = Threads.scheduler("cutover-timer");
    }
    return timer;
  }

  /** Ends the shared threads; work in flight is interrupted. */
  static synchronized void shutdown() {
    if (blocking != null) {
      blocking.shutdownNow();
      blocking = null;
    }
    if (timer != null) {
      timer.shutdownNow();
      timer = null;
    }
  }
}
