package dev.cutover.driver.internal.switching;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

/**
 * The connections a switch opens to its target before its gate closes, one per session, a few at a
 * time. The wait for them ends when all are open, when one fails, or when none has opened for a
 * whole quiet period: a server that starts two hundred backends at a few dozen a second is slow,
 * not silent. A few at a time, because that silence is only visible then: two hundred asked at once
 * share the server's and the client's cores and memory and all finish near the end, so a quiet
 * period shorter than the whole passes with none open (four pools of fifty, in CI, twice), and a
 * target that is starting two hundred backends at once is slow for everyone already on it.
 */
final class Prewarm {
  /** Opens one connection to the target. */
  @FunctionalInterface
  interface Opener {
    Connection open() throws SQLException;
  }

  /** None opened for the quiet period: {@link #opened()} of {@link #count()} were open. */
  static final class Stalled extends SQLException {
    private final int opened;
    private final int count;

    Stalled(int opened, int count) {
      super(opened + " of " + count + " connections opened", "08001");
      this.opened = opened;
      this.count = count;
    }

    int opened() {
      return opened;
    }

    int count() {
      return count;
    }
  }

  /** How often the wait looks at the clock and at {@code abandoned}. */
  private static final long SLICE_MILLIS = 20;

  /**
   * How many a switch opens at once: enough to hide a network's round trips (a connection is a
   * few of them, a backend's start and an authentication), few enough that each opens in a small
   * share of the whole.
   */
  static final int LANES = 8;

  private final int count;
  private final LongSupplier clock;
  /** One per connection, in the order the lanes take them; completed by the lane that opens it. */
  private final List<CompletableFuture<Connection>> opening;
  /** The next connection a lane takes. */
  private final AtomicInteger next = new AtomicInteger();
  private final AtomicInteger opened = new AtomicInteger();
  /** {@link #clock} when the last connection opened, or when opening began. */
  private final AtomicLong progressed;
  /** Completes when all are open, or exceptionally with the first failure. */
  private final CompletableFuture<Void> done = new CompletableFuture<>();
  /** Set by a failure or {@link #discard}: the lanes take no more. */
  private volatile boolean stopped;

  /**
   * Begins opening {@code count} connections, {@code lanes} at a time, on {@code executor}.
   *
   * @param clock nanoseconds, like {@link System#nanoTime()}
   */
  Prewarm(int count, int lanes, Opener opener, Executor executor, LongSupplier clock) {
    this.count = count;
    this.clock = clock;
    this.progressed = new AtomicLong(clock.getAsLong());
    this.opening = new ArrayList<>(count);
    if (count == 0) {
      done.complete(null);
    }
    for (int i = 0; i < count; i++) {
      CompletableFuture<Connection> f = new CompletableFuture<>();
      f.whenComplete((c, failure) -> {
        if (failure != null) {
          stopped = true;
          done.completeExceptionally(failure);
        } else {
          progressed.set(clock.getAsLong());
          if (opened.incrementAndGet() == count) {
            done.complete(null);
          }
        }
      });
      opening.add(f);
    }
    for (int lane = 0; lane < Math.min(lanes, count); lane++) {
      executor.execute(() -> openInTurn(opener));
    }
  }

  /** Begins opening {@code count} connections, {@link #LANES} at a time, on the driver's blocking threads. */
  static Prewarm start(int count, Opener opener) {
    return new Prewarm(count, LANES, opener, DriverThreads.blocking(), System::nanoTime);
  }

  /** One lane: takes the next connection until none is left or the prewarm stopped. */
  private void openInTurn(Opener opener) {
    int i;
    while (!stopped && (i = next.getAndIncrement()) < count) {
      CompletableFuture<Connection> f = opening.get(i);
      try {
        f.complete(opener.open());
      } catch (SQLException | RuntimeException e) {
        f.completeExceptionally(e);
      }
    }
  }

  /** How many are open so far. */
  int opened() {
    return opened.get();
  }

  /**
   * Waits until every connection is open.
   *
   * @param quiet how long the wait goes on without another connection opening
   * @param abandoned asked between looks; true ends the wait (the switch's deadline passed)
   * @return the connections, all open
   * @throws Stalled when none opened for {@code quiet}
   * @throws SQLException the first failure to open one, or a plain one when abandoned
   */
  List<Connection> await(Duration quiet, BooleanSupplier abandoned) throws SQLException, InterruptedException {
    while (true) {
      try {
        done.get(SLICE_MILLIS, TimeUnit.MILLISECONDS);
        List<Connection> all = new ArrayList<>(count);
        opening.forEach(f -> all.add(f.join()));
        return all;
      } catch (TimeoutException e) {
        if (abandoned.getAsBoolean()) {
          throw new SQLException("abandoned while " + opened() + " of " + count + " connections were open");
        }
        if (clock.getAsLong() - progressed.get() >= quiet.toNanos()) {
          throw new Stalled(opened(), count);
        }
      } catch (ExecutionException e) {
        Throwable cause = e.getCause();
        while (cause.getCause() != null && !(cause instanceof SQLException)) {
          cause = cause.getCause();
        }
        throw cause instanceof SQLException s ? s : new SQLException(cause.toString(), "08001", cause);
      }
    }
  }

  /**
   * Closes every connection opened, now or whenever one being opened opens, and opens no more: the
   * switch no longer needs them.
   */
  void discard() {
    stopped = true;
    opening.forEach(f -> f.thenAccept(Router::closeQuietly));
  }
}
