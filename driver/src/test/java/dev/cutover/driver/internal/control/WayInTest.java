package dev.cutover.driver.internal.control;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.flags.Target;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The switch's remedy for a trigger capture's way whose apply stopped for good: the replicator's note, never the force hint. */
class WayInTest {
  private static final Instant AT = Instant.parse("2026-12-06T20:00:00Z");

  @Test
  void remedy_aStopNoted_namesItsRefusalWithoutForce() {
    WayIn w = capture(WayIn.STOPPED + "old is behind new's apply position: old lacks the tick; run `cutover-replicator cleanup`");

    assertThat(w.lost()).isTrue();
    assertThat(WayIn.remedy(Optional.of(w), Target.OLD, Target.NEW, false))
        .startsWith("the `cutover-replicator apply` of old -> new (trigger capture) stopped for good at " + AT)
        .contains("old is behind new's apply position: old lacks the tick; run `cutover-replicator cleanup`")
        .contains("do not switch").contains("do not force it").doesNotContain("start `cutover-replicator apply`");
  }

  @Test
  void remedy_aRetriedFailure_isNoStop() {
    WayIn w = capture("An I/O error occurred while sending to the backend.");

    assertThat(w.lost()).isFalse();
    assertThat(WayIn.remedy(Optional.of(w), Target.OLD, Target.NEW, false)).contains("fails").doesNotContain("stopped for good");
  }

  private static WayIn capture(String failure) {
    return new WayIn("capture", "forward", null, false, AT, failure, AT, null);
  }
}
