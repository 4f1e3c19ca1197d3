package dev.cutover.common;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.locks.LockSupport;

/**
 * The one way Cutover waits for a condition it can only ask about (a row in another database, a
 * backend gone, a lock free): ask, and between asks pause a little longer each time, from a
 * first pause up to a longest one, until a deadline. The first answers come quickly (a switch
 * waits for steps that take a few milliseconds), later ones do not load the server.
 *
 * <p>A deadline is a {@link System#nanoTime()} value, so that several waits of one step share it.
 */
public final class Poll {
  /** For waits on a database during a switch: from 0.2 ms up to 5 ms between asks. */
  public static final Poll FAST = new Poll(Duration.ofNanos(200_000), Duration.ofMillis(5));

  private final long firstNanos;
  private final long maxNanos;

  private Poll(Duration first, Duration max) {
    this.firstNanos = first.toNanos();
    this.maxNanos = max.toNanos();
  }

  /** Pauses from {@code first}, doubling, up to {@code max}. */
  public static Poll every(Duration first, Duration max) {
    if (first.isNegative() || first.isZero() || max.compareTo(first) < 0) {
      throw new IllegalArgumentException("a poll needs 0 < first <= max, not " + first + " and " + max);
    }
    return new Poll(first, max);
  }

  /** Pauses of one length. */
  public static Poll every(Duration pause) {
    return every(pause, pause);
  }

  /** A condition asked again and again; it may fail, which ends the wait. */
  @FunctionalInterface
  public interface Condition<E extends Exception> {
    boolean met() throws E;
  }

  /** A question asked again and again until it has an answer; null means none yet. It may fail, which ends the wait. */
  @FunctionalInterface
  public interface Question<T, E extends Exception> {
    T ask() throws E;
  }

  /** {@code timeout} from now, as a deadline for {@link #until}. */
  public static long deadline(Duration timeout) {
    return System.nanoTime() + timeout.toNanos();
  }

  /** Whether {@code deadline} has passed. */
  public static boolean passed(long deadline) {
    return System.nanoTime() - deadline > 0;
  }

  /**
   * Asks {@code condition} until it is met or {@code deadline} passes; it is asked once more at
   * the deadline, so a wait never ends without a last look.
   *
   * @return whether it was met; false when the deadline passed or the thread was interrupted
   *     (the interrupt stays set)
   */
  public <E extends Exception> boolean until(long deadline, Condition<E> condition) throws E {
    return firstAnswer(deadline, () -> condition.met() ? Boolean.TRUE : null) != null;
  }

  /** {@link #until(long, Condition)} with a deadline {@code timeout} from now. */
  public <E extends Exception> boolean within(Duration timeout, Condition<E> condition) throws E {
    return until(deadline(timeout), condition);
  }

  /**
   * Asks {@code question} until it answers or {@code deadline} passes, like {@link #until}, for a
   * wait whose caller needs what it saw when the wait ended (which of several outcomes came).
   *
   * @return the first answer; empty when the deadline passed or the thread was interrupted
   *     (the interrupt stays set)
   */
  public <T, E extends Exception> Optional<T> answer(long deadline, Question<T, E> question) throws E {
    return Optional.ofNullable(firstAnswer(deadline, question));
  }

  /** {@link #answer(long, Question)} with a deadline {@code timeout} from now. */
  public <T, E extends Exception> Optional<T> answer(Duration timeout, Question<T, E> question) throws E {
    return answer(deadline(timeout), question);
  }

  private <T, E extends Exception> T firstAnswer(long deadline, Question<T, E> question) throws E {
    long pause = firstNanos;
    while (true) {
      T answer = question.ask();
      if (answer != null) {
        return answer;
      }
      long left = deadline - System.nanoTime();
      if (left <= 0 || Thread.currentThread().isInterrupted()) {
        return null;
      }
      LockSupport.parkNanos(Math.min(pause, left));
      pause = Math.min(maxNanos, pause * 2);
    }
  }
}
