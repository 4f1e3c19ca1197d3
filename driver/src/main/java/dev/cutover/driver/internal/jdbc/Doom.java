package dev.cutover.driver.internal.jdbc;

import dev.cutover.driver.internal.session.SessionSnapshot;
import java.sql.SQLException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A switch's rollback of one session's transaction: why, and what the session held, captured by
 * the switch thread before it ended the session; the owner waits for it before it recovers.
 */
final class Doom {
  private final String reason;
  private final CountDownLatch done = new CountDownLatch(1);
  private volatile SessionSnapshot held;
  private volatile String lost;
  /** Whether the doomed transaction is over for the application (owner only; see {@link #rolledBack()}). */
  private boolean rolledBack;
  /** Whether the session took a new connection after this doom (owner only; see {@link #reconnected()}). */
  private boolean reconnected;

  Doom(String reason) {
    this.reason = reason;
  }

  /** Records what was captured; {@code lost} says what could not be, or is {@code null}. */
  void finish(SessionSnapshot held, String lost) {
    this.held = held;
    this.lost = lost;
    done.countDown();
  }

  /** Waits for the capture, which the switch bounds by its own timeout. */
  void await(long timeoutNanos) {
    try {
      if (!done.await(timeoutNanos, TimeUnit.NANOSECONDS)) {
        lost = "the switch did not finish ending its transaction in time";
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      lost = "interrupted while the switch ended its transaction";
    }
  }

  SessionSnapshot held() {
    return held;
  }

  String lost() {
    return lost;
  }

  /**
   * The doomed transaction is over for the application (it called rollback, or its autocommit
   * statement failed): its calls from now on belong to new transactions, which must not get this
   * doom's error even while the session has not recovered yet.
   */
  void rolledBack() {
    rolledBack = true;
  }

  /** The session runs on a new connection with the state {@link #held()}; it must not take another for this doom. */
  void reconnected() {
    reconnected = true;
  }

  /** Whether {@link #reconnected()} was called. */
  boolean isReconnected() {
    return reconnected;
  }

  /** Whether {@link #rolledBack()} was called. */
  boolean isRolledBack() {
    return rolledBack;
  }

  /**
   * The retryable error every call of the doomed transaction gets. The PgJDBC error that
   * revealed the doom (typically "This connection has been closed", which would mislead whoever
   * reads the root cause) is kept as suppressed, not as the cause.
   */
  SQLException error(SQLException seen) {
    SQLException e = SqlStates.retry(reason, null);
    if (seen != null) {
      e.addSuppressed(seen);
    }
    return e;
  }
}
