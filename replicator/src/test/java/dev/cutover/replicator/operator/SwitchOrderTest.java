package dev.cutover.replicator.operator;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/**
 * Ordering two sides' switch records when new's clock is an hour behind old's (r18): never by
 * old's updated_at against new's. The servers of a database test share one clock, so the age
 * rule under skew is shown here with each side's clock as the reader would have read it.
 */
class SwitchOrderTest {
  private static final Instant OLD_NOW = Instant.parse("2026-12-06T12:00:00Z");
  private static final Instant NEW_NOW = OLD_NOW.minus(Duration.ofHours(1));
  private static final SwitchOrder.Clock OLD = new SwitchOrder.Clock(OLD_NOW, 1_000_000_000L);
  private static final SwitchOrder.Clock NEW = new SwitchOrder.Clock(NEW_NOW, 1_000_000_000L + 2_000_000L); // read 2 ms later

  private static SwitchOrder.Record rec(String state, SwitchOrder.Clock clock, Duration age, Long fence, Long target) {
    return new SwitchOrder.Record("draining".equals(state), "released".equals(state), clock.serverNow().minus(age),
        new SwitchOrder.Epochs(fence, target), clock);
  }

  @Test
  void later_inProgressOnNewAgainstAYoungerLookingReleaseOnOld_theOneInProgress() {
    SwitchOrder.Record there = rec("released", OLD, Duration.ofMinutes(2), 1L, 0L);
    SwitchOrder.Record back = rec("draining", NEW, Duration.ofHours(3), null, null);

    assertThat(SwitchOrder.later(back, there)).isTrue();
    assertThat(SwitchOrder.later(there, back)).isFalse();
  }

  @Test
  void later_finishedWithoutEpochs_theYoungerOnItsOwnServer() {
    // From before target_epoch, or a role that may not read cutover.switch: the release back a
    // minute ago on new reads an hour and a minute older than old's timestamps.
    SwitchOrder.Record there = rec("released", OLD, Duration.ofMinutes(10), null, null);
    SwitchOrder.Record back = rec("released", NEW, Duration.ofMinutes(1), null, null);

    assertThat(back.updatedAt()).isBefore(there.updatedAt());
    assertThat(SwitchOrder.later(back, there)).isTrue();
    assertThat(SwitchOrder.later(there, back)).isFalse();
  }

  @Test
  void later_releasedWithEpochs_theEpochsOverTheClocks() {
    // s-back raised new's fence at 3, above the epoch 0 s-there found new at when it was released:
    // s-back is the later, though its own server says it is older.
    SwitchOrder.Record there = rec("released", OLD, Duration.ofMinutes(1), 1L, 0L);
    SwitchOrder.Record back = rec("released", NEW, Duration.ofMinutes(10), 3L, 1L);

    assertThat(SwitchOrder.later(back, there)).isTrue();
    assertThat(SwitchOrder.later(there, back)).isFalse();
  }

  @Test
  void later_abortedBeforeItsFenceAgainstARelease_byAge() {
    SwitchOrder.Record there = rec("released", OLD, Duration.ofMinutes(10), 1L, 0L);
    SwitchOrder.Record refused = rec("aborted", NEW, Duration.ofMinutes(1), null, null);

    assertThat(SwitchOrder.later(refused, there)).isTrue();
    assertThat(SwitchOrder.later(there, refused)).isFalse();
  }
}
