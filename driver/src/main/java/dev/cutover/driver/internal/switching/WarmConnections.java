package dev.cutover.driver.internal.switching;

import dev.cutover.flags.Target;
import java.sql.Connection;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Physical connections a switch opened to its target before release, handed to sessions as they
 * move, so that a switch causes no connection storm. Those nobody claims within a minute are closed,
 * so that an idle pool does not hold twice its size.
 *
 * <p>Concurrency: filled by the switch thread, taken by session owners; a concurrent queue, each
 * connection taken or closed exactly once.
 */
final class WarmConnections {
  private static final long TTL_SECONDS = 60;

  private final ConcurrentLinkedQueue<Warm> warm = new ConcurrentLinkedQueue<>();

  private record Warm(Target side, Connection connection, long bornNanos) {}

  /** One opened ahead to {@code side}, or {@code null}; those to the other side are closed on the way. */
  Connection take(Target side) {
    Warm w;
    while ((w = warm.poll()) != null) {
      if (w.side() == side) {
        return w.connection();
      }
      Router.closeQuietly(w.connection());
    }
    return null;
  }

  /** Replaces what is held by {@code opened}, connections to {@code side}, which expire in a minute. */
  void replace(Target side, List<Connection> opened) {
    closeAll();
    long now = System.nanoTime();
    for (Connection c : opened) {
      warm.add(new Warm(side, c, now));
    }
    if (!opened.isEmpty()) {
      try {
        DriverThreads.timer().schedule(() -> DriverThreads.blocking().execute(this::expire), TTL_SECONDS,
            TimeUnit.SECONDS);
      } catch (RejectedExecutionException shutDown) {
        closeAll();
      }
    }
  }

  /** Closes every connection held. */
  void closeAll() {
    Warm stale;
    while ((stale = warm.poll()) != null) {
      Router.closeQuietly(stale.connection());
    }
  }

  private void expire() {
    long cutoff = System.nanoTime() - TimeUnit.SECONDS.toNanos(TTL_SECONDS) + 1;
    warm.removeIf(w -> {
      if (w.bornNanos() - cutoff <= 0) {
        Router.closeQuietly(w.connection());
        return true;
      }
      return false;
    });
  }
}
