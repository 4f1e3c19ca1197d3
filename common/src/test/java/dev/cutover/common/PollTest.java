package dev.cutover.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.sql.SQLException;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Waiting for a condition, or for an answer, until a deadline. */
class PollTest {
  private static final Poll POLL = Poll.every(Duration.ofMillis(1), Duration.ofMillis(4));

  @Test
  void answer_answersOnTheThirdAsk_returnsThatAnswer() {
    AtomicInteger asks = new AtomicInteger();

    Optional<String> answer = POLL.answer(Duration.ofSeconds(30), () -> asks.incrementAndGet() == 3 ? "third" : null);

    assertThat(answer).contains("third");
    assertThat(asks).hasValue(3);
  }

  @Test
  void answer_neverAnswers_emptyAfterALastAskAtTheDeadline() {
    AtomicInteger asks = new AtomicInteger();
    AtomicBoolean lastAskAfterDeadline = new AtomicBoolean();
    long deadline = Poll.deadline(Duration.ofMillis(50));

    Optional<String> answer = POLL.answer(deadline, () -> {
      asks.incrementAndGet();
      lastAskAfterDeadline.set(Poll.passed(deadline));
      return null;
    });

    assertThat(answer).isEmpty();
    assertThat(lastAskAfterDeadline).as("the last ask came at the deadline").isTrue();
    assertThat(asks).hasValueGreaterThan(1);
  }

  @Test
  void answer_deadlinePassedAlready_asksOnce() {
    AtomicInteger asks = new AtomicInteger();

    Optional<Integer> answer = POLL.answer(Poll.deadline(Duration.ZERO), asks::incrementAndGet);

    assertThat(answer).contains(1);
  }

  @Test
  void answer_questionFails_failureEndsTheWait() {
    AtomicInteger asks = new AtomicInteger();

    SQLException e = catchThrowableOfType(SQLException.class, () -> POLL.answer(Duration.ofSeconds(30), () -> {
      asks.incrementAndGet();
      throw new SQLException("gone", "08006");
    }));

    assertThat(e.getMessage()).isEqualTo("gone");
    assertThat(asks).hasValue(1);
  }

  @Test
  void answer_threadInterrupted_emptyAtOnceAndTheInterruptStays() {
    AtomicInteger asks = new AtomicInteger();
    Thread.currentThread().interrupt();
    try {
      Optional<String> answer = POLL.answer(Duration.ofSeconds(30), () -> {
        asks.incrementAndGet();
        return null;
      });

      assertThat(answer).isEmpty();
      assertThat(asks).as("asked once, not until the timeout").hasValue(1);
      assertThat(Thread.currentThread().isInterrupted()).isTrue();
    } finally {
      Thread.interrupted();
    }
  }

  @Test
  void within_conditionMetOnTheSecondAsk_true() {
    AtomicInteger asks = new AtomicInteger();

    assertThat(POLL.within(Duration.ofSeconds(30), () -> asks.incrementAndGet() == 2)).isTrue();
    assertThat(asks).hasValue(2);
  }

  @Test
  void within_neverMet_false() {
    assertThat(POLL.within(Duration.ofMillis(20), () -> false)).isFalse();
  }
}
