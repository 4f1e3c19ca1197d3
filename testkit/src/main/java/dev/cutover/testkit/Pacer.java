package dev.cutover.testkit;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.IntSupplier;
import java.util.random.RandomGenerator;

/**
 * Runs a load generator's steps at a fixed rate: each step is due an interval (times the
 * transactions the last one took) after the last was due, not after it ended, so the rate holds
 * whatever a step takes; a loop that has fallen more than a second behind drops its backlog rather
 * than burst to catch up. One per worker thread; not thread-safe.
 */
public final class Pacer {
  private static final long MAX_BACKLOG_NANOS = TimeUnit.SECONDS.toNanos(1);

  private final long intervalNanos;
  private long due;

  /**
   * @param perSecond steps (transactions) per second
   * @param firstInNanos when the first step is due, from now (an offset keeps workers out of step)
   */
  public Pacer(double perSecond, long firstInNanos) {
    if (!(perSecond > 0)) {
      throw new IllegalArgumentException("rate must be above 0 per second, not " + perSecond);
    }
    this.intervalNanos = (long) (1e9 / perSecond);
    this.due = System.nanoTime() + firstInNanos;
  }

  /** A pacer whose first step is due at a random point within one interval, so that workers do not fire in lockstep. */
  public static Pacer staggered(double perSecond, RandomGenerator random) {
    Pacer p = new Pacer(perSecond, 0);
    p.due += random.nextLong(Math.max(1, p.intervalNanos));
    return p;
  }

  /** Runs {@code step} whenever it is due while {@code running}; {@code step} returns how many transactions it took. */
  public void run(BooleanSupplier running, IntSupplier step) {
    while (running.getAsBoolean()) {
      long wait = due - System.nanoTime();
      if (wait > 0) {
        LockSupport.parkNanos(wait);
        continue;
      }
      if (-wait > MAX_BACKLOG_NANOS) {
        due = System.nanoTime();
      }
      due += step.getAsInt() * intervalNanos;
    }
  }
}
