package dev.cutover.replicator.apply;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class BackoffTest {

  @Test
  void pauses_doubleUpToTheMost() {
    Backoff b = new Backoff(100, 1000);
    assertThat(new long[] {b.next(), b.next(), b.next(), b.next(), b.next(), b.next()})
        .containsExactly(100, 200, 400, 800, 1000, 1000);
  }

  @Test
  void aBatchThrough_theNextFailurePausesTheShortestAgain() {
    Backoff b = new Backoff(100, 1000);
    for (int i = 0; i < 10; i++) {
      b.next();
    }
    b.reset();
    assertThat(b.next()).isEqualTo(100);
    assertThat(b.next()).isEqualTo(200);
  }
}
