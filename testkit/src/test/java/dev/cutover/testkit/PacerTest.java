package dev.cutover.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;

class PacerTest {
  @Test
  void staggered_firstStepDueWithinOneInterval() {
    AtomicLong bound = new AtomicLong();
    RandomGenerator last = new RandomGenerator() {
      @Override
      public long nextLong() {
        throw new AssertionError("the offset is drawn within a bound");
      }

      @Override
      public long nextLong(long b) {
        bound.set(b);
        return b - 1;
      }
    };
    AtomicInteger steps = new AtomicInteger();

    Pacer.staggered(1000, last).run(() -> steps.get() < 3, () -> {
      steps.incrementAndGet();
      return 1;
    });

    assertThat(bound.get()).as("one interval at 1,000 per second, in ns").isEqualTo(1_000_000L);
    assertThat(steps.get()).isEqualTo(3);
  }
}
