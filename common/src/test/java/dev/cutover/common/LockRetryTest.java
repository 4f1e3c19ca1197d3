package dev.cutover.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Retrying DDL that PostgreSQL refused for a lock, and nothing else. */
class LockRetryTest {

  @Test
  void within_refusedForALockThenForADeadlock_isTriedAgainUntilItSucceeds() throws SQLException {
    AtomicInteger attempts = new AtomicInteger();
    String done = LockRetry.within(Duration.ofSeconds(30), () -> {
      int n = attempts.incrementAndGet();
      if (n == 1) {
        throw new SQLException("canceling statement due to lock timeout", "55P03");
      }
      if (n == 2) {
        throw new SQLException("deadlock detected", "40P01");
      }
      return "installed";
    });
    assertThat(done).isEqualTo("installed");
    assertThat(attempts).hasValue(3);
  }

  @Test
  void within_otherError_isThrownAtOnce() {
    AtomicInteger attempts = new AtomicInteger();
    SQLException e = catchThrowableOfType(SQLException.class, () -> LockRetry.within(Duration.ofSeconds(30), () -> {
      attempts.incrementAndGet();
      throw new SQLException("permission denied for table a", "42501");
    }));
    assertThat(e.getSQLState()).isEqualTo("42501");
    assertThat(attempts).hasValue(1);
  }

  @Test
  void within_stillRefusedAtTheDeadline_throwsTheLastRefusal() {
    AtomicInteger attempts = new AtomicInteger();
    SQLException e = catchThrowableOfType(SQLException.class, () -> LockRetry.within(Duration.ZERO, () -> {
      attempts.incrementAndGet();
      throw new SQLException("canceling statement due to lock timeout", "55P03");
    }));
    assertThat(e.getSQLState()).isEqualTo("55P03");
    assertThat(attempts).hasValue(1);
  }
}
