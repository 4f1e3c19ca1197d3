package dev.cutover.driver.internal.switching;

import dev.cutover.driver.internal.session.ServerExchange;
import dev.cutover.flags.Target;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.postgresql.core.BaseConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Physical connections a switch opened to its target before release, handed to sessions as they
 * move, so that a switch causes no connection storm. Those nobody claims within a minute are closed,
 * so that an idle pool does not hold twice its size; sooner where the target ends idle sessions
 * itself: after half its {@code idle_session_timeout} for the application's role and database (read
 * once per switch, on one of them, off the switch thread), so that they are closed before the
 * target ends them. They are handed out unchecked: the session that takes one checks it (see
 * {@link Handover#acquire}, {@link Router#connect}).
 *
 * <p>Concurrency: filled by the switch thread, taken by session owners; a concurrent queue, each
 * connection taken or closed exactly once. Taking is lock-free; filling, closing and putting back
 * the one the timeout was read on hold this object's monitor, so that none is put back into a set
 * closed meanwhile.
 */
final class WarmConnections {
  private static final Logger LOG = LoggerFactory.getLogger(WarmConnections.class);
  private static final long TTL_SECONDS = 60;
  /** The target's idle_session_timeout in ms for this session's role and database; no row before PostgreSQL 14. */
  private static final String IDLE_SESSION_TIMEOUT =
      "SELECT setting FROM pg_catalog.pg_settings WHERE name = 'idle_session_timeout'";

  private final ConcurrentLinkedQueue<Warm> warm = new ConcurrentLinkedQueue<>();
  /** How long the timeout's read may take (the application's connections carry no timeout of their own). */
  private final Duration answerTimeout;
  /** Counts the sets held: each replace and close starts another (guarded by this). */
  private long generation;

  private record Warm(Target side, Connection connection, long bornNanos) {}

  WarmConnections(Duration answerTimeout) {
    this.answerTimeout = answerTimeout;
  }

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

  /**
   * Replaces what is held by {@code opened}, connections to {@code side}, which expire in a minute,
   * or at half the target's idle_session_timeout when it has a shorter one.
   */
  synchronized void replace(Target side, List<Connection> opened) {
    closeAll();
    long set = generation;
    long now = System.nanoTime();
    for (Connection c : opened) {
      warm.add(new Warm(side, c, now));
    }
    if (!opened.isEmpty()) {
      try {
        DriverThreads.timer().schedule(() -> DriverThreads.blocking().execute(this::expire), TTL_SECONDS,
            TimeUnit.SECONDS);
        DriverThreads.blocking().execute(() -> capLifetime(set));
      } catch (RejectedExecutionException shutDown) {
        closeAll();
      }
    }
  }

  /** Closes every connection held. */
  synchronized void closeAll() {
    generation++;
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

  /**
   * Reads the target's idle_session_timeout on one of set {@code set} (taken out meanwhile: a
   * session finding none opens one) and, when it is on, closes the set at half of it. One that does
   * not answer is closed; the sessions check the others as they take them.
   */
  private void capLifetime(long set) {
    Warm w = warm.poll();
    if (w == null) {
      return;
    }
    long timeoutMillis;
    try {
      timeoutMillis = idleSessionTimeoutMillis(w.connection().unwrap(BaseConnection.class));
    } catch (SQLException | RuntimeException e) {
      LOG.debug("cutover: a connection opened ahead to the {} database no longer answers ({}); closed",
          w.side().value(), e.toString());
      Router.closeQuietly(w.connection());
      return;
    }
    synchronized (this) {
      if (generation != set) {
        Router.closeQuietly(w.connection());
        return;
      }
      warm.add(w);
    }
    if (timeoutMillis > 0 && timeoutMillis < TimeUnit.SECONDS.toMillis(TTL_SECONDS) * 2) {
      LOG.debug("cutover: the {} database ends sessions idle for {} ms (idle_session_timeout): the connections"
          + " opened ahead to it are closed in {} ms", w.side().value(), timeoutMillis, timeoutMillis / 2);
      try {
        DriverThreads.timer().schedule(() -> DriverThreads.blocking().execute(() -> closeSet(set)),
            timeoutMillis / 2, TimeUnit.MILLISECONDS);
      } catch (RejectedExecutionException shutDown) {
        closeSet(set);
      }
    }
  }

  /** Closes what is held if it is still set {@code set}. */
  private synchronized void closeSet(long set) {
    if (generation == set) {
      closeAll();
    }
  }

  /** The idle_session_timeout in force for {@code c}'s session, in ms (0: off, or before PostgreSQL 14). */
  private long idleSessionTimeoutMillis(BaseConnection c) throws SQLException {
    int own = c.getNetworkTimeout();
    int bound = (int) Math.max(1, Math.min(Integer.MAX_VALUE, answerTimeout.toMillis()));
    c.setNetworkTimeout(Runnable::run, own == 0 ? bound : Math.min(own, bound));
    List<String[]> rows = ServerExchange.run(c, IDLE_SESSION_TIMEOUT).rowsOrThrow();
    c.setNetworkTimeout(Runnable::run, own);
    return rows.isEmpty() || rows.get(0)[0] == null ? 0 : Long.parseLong(rows.get(0)[0]);
  }
}
