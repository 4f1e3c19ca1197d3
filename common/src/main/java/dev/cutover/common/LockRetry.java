package dev.cutover.common;

import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The one way Cutover retries a transaction that must lock tables applications write to (adding
 * triggers, installing the control schema): each attempt runs under a short {@code lock_timeout}
 * of the caller's, so writers wait at most that long, and an attempt PostgreSQL refuses for a lock
 * (55P03) or a deadlock (40P01) is tried again after a pause that grows from 20 ms to 500 ms, with
 * jitter so that two installers that collided do not collide again in step, until a deadline.
 */
public final class LockRetry {
  static final String LOCK_NOT_AVAILABLE = "55P03";
  static final String DEADLOCK = "40P01";
  private static final long FIRST_PAUSE_MILLIS = 20;
  private static final long MAX_PAUSE_MILLIS = 500;

  private LockRetry() {}

  /** One attempt, which rolls back whatever it did when it fails. */
  @FunctionalInterface
  public interface Attempt<T> {
    T run() throws SQLException;
  }

  /**
   * Runs {@code attempt} until it succeeds, fails for another reason, or was refused for a lock
   * when {@code timeout} (from now) had passed or the thread was interrupted; then its last
   * error is thrown.
   */
  public static <T> T within(Duration timeout, Attempt<T> attempt) throws SQLException {
    long deadline = Poll.deadline(timeout);
    long pause = FIRST_PAUSE_MILLIS;
    while (true) {
      try {
        return attempt.run();
      } catch (SQLException e) {
        if (!refusedForALock(e) || Poll.passed(deadline) || Thread.currentThread().isInterrupted()) {
          throw e;
        }
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(pause + ThreadLocalRandom.current().nextLong(pause)));
        pause = Math.min(MAX_PAUSE_MILLIS, pause * 2);
      }
    }
  }

  /** Whether PostgreSQL refused {@code e}'s statement for a lock it could not take in time, or a deadlock. */
  public static boolean refusedForALock(SQLException e) {
    return LOCK_NOT_AVAILABLE.equals(e.getSQLState()) || DEADLOCK.equals(e.getSQLState());
  }
}
