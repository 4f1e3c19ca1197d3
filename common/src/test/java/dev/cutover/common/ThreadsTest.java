package dev.cutover.common;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Waiting for workers that were told to stop. */
class ThreadsTest {
  private final CountDownLatch release = new CountDownLatch(1);

  @AfterEach
  void releaseWorkers() {
    release.countDown();
    Thread.interrupted(); // a test that interrupted itself leaves the flag to no other
  }

  private Thread blocked(String name) {
    return Threads.start(name, () -> {
      try {
        release.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
  }

  @Test
  void joinAll_everyThreadEnds_returnsTrue() {
    Thread a = Threads.start("test-a", () -> {});
    Thread b = Threads.start("test-b", () -> {});

    assertThat(Threads.joinAll(List.of(a, b), Duration.ofSeconds(30))).isTrue();
    assertThat(a.isAlive() || b.isAlive()).isFalse();
  }

  @Test
  void joinAll_oneThreadDoesNotEnd_returnsFalseAfterTheTimeoutInAll() {
    Thread ends = Threads.start("test-ends", () -> {});
    Thread stuck = blocked("test-stuck");
    Thread alsoStuck = blocked("test-also-stuck");

    long t0 = System.nanoTime();
    boolean ended = Threads.joinAll(List.of(ends, stuck, alsoStuck), Duration.ofSeconds(2));
    long waitedMillis = (System.nanoTime() - t0) / 1_000_000;

    assertThat(ended).isFalse();
    assertThat(stuck.isAlive() && alsoStuck.isAlive()).as("gave up on the stuck threads").isTrue();
    // Two seconds for all, not for each: waiting per thread would take at least four.
    assertThat(waitedMillis).isLessThan(3_900L);
    assertThat(Thread.currentThread().isInterrupted()).isFalse();
  }

  @Test
  void joinAll_callerInterrupted_stopsWaitingAndKeepsTheInterrupt() {
    Thread stuck = blocked("test-stuck");
    Thread.currentThread().interrupt();

    long t0 = System.nanoTime();
    boolean ended = Threads.joinAll(List.of(stuck), Duration.ofSeconds(30));
    long waitedMillis = (System.nanoTime() - t0) / 1_000_000;

    assertThat(ended).isFalse();
    assertThat(Thread.currentThread().isInterrupted()).isTrue();
    assertThat(waitedMillis).isLessThan(5_000L);
  }
}
