package dev.cutover.driver.internal.switching;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Bounds every wait of one switch, whatever the network does. A read blocked on a silent socket
 * (packets dropped, no RST) never ends by itself, and a query's cancel request travels the same
 * silent path; so when a deadline passes the watchdog records why and aborts the connections the
 * switch may be blocked on ({@link Connection#abort}, which closes the socket at once). The switch
 * thread then fails out of its call and aborts the switch with the watchdog's reason.
 *
 * <p>Two kinds of deadline: the switch's own ({@link #deadline}: before its gate closes, a budget
 * of the waits it may do; after, {@code cutover.gate.max-pause}), which aborts every watched
 * connection; and a step's ({@link #step}: a wait with its own timeout, such as the barrier's),
 * which aborts only the connection that step waits on.
 *
 * <p>Concurrency: deadlines fire on the driver's timer thread ({@link DriverThreads}); the reason is
 * written once.
 */
final class SwitchWatchdog implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SwitchWatchdog.class);
  /** PgJDBC's abort only closes the socket: safe to run on the timer thread. */
  private static final Executor DIRECT = Runnable::run;

  private final String name;
  private final List<Connection> watched = new CopyOnWriteArrayList<>();
  private ScheduledFuture<?> deadline;
  private volatile String reason;

  /** @param name the switch, for the log line */
  SwitchWatchdog(String name) {
    this.name = name;
  }

  /**
   * Aborts {@code c} too when the switch's deadline passes, or at once when the watchdog has fired
   * already: a connection taken up after the deadline would otherwise block the switch unbounded.
   */
  void watch(Connection c) {
    synchronized (this) {
      if (reason == null) {
        watched.add(c);
        return;
      }
    }
    abort(c);
  }

  /**
   * Watches {@code c} (see {@link #watch}) until the returned step is closed: for a connection the
   * switch uses for a while and then hands to a session, which a deadline passing after the
   * release must not abort.
   */
  Step watching(Connection c) {
    watch(c);
    return () -> watched.remove(c);
  }

  /** Sets the switch's deadline {@code budget} from now, replacing the previous one. */
  synchronized void deadline(Duration budget, Supplier<String> why) {
    if (deadline != null) {
      deadline.cancel(false);
    }
    deadline = DriverThreads.timer().schedule(() -> fire(why, watched), budget.toNanos(), TimeUnit.NANOSECONDS);
  }

  /** A deadline for one wait: when it passes before the step is closed, {@code c} is aborted. */
  Step step(Duration budget, Connection c, Supplier<String> why) {
    ScheduledFuture<?> f = DriverThreads.timer().schedule(() -> fire(why, List.of(c)), budget.toNanos(), TimeUnit.NANOSECONDS);
    return () -> f.cancel(false);
  }

  /** A step's deadline; closing it before it passes disarms it. */
  @FunctionalInterface
  interface Step extends AutoCloseable {
    @Override
    void close();
  }

  /** Why the watchdog aborted the switch's connections, or {@code null} when it has not. */
  String reason() {
    return reason;
  }

  private void fire(Supplier<String> why, List<Connection> connections) {
    synchronized (this) {
      if (reason != null) {
        return;
      }
      reason = why.get();
    }
    LOG.warn("cutover: switch {}: {}; aborting its connections", name, reason);
    for (Connection c : connections) {
      abort(c);
    }
  }

  private void abort(Connection c) {
    try {
      c.abort(DIRECT);
    } catch (SQLException | RuntimeException e) {
      LOG.debug("cutover: switch {}: aborting a connection failed: {}", name, e.toString());
    }
  }

  /** Disarms the switch's deadline. */
  @Override
  public synchronized void close() {
    if (deadline != null) {
      deadline.cancel(false);
    }
  }
}
