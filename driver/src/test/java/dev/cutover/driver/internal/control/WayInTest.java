package dev.cutover.driver.internal.control;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.flags.Target;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The switch's remedy for a way the replicator carries (a subscription, a relay, trigger capture,
 * its apply stopped for good, failing or lagging): never the force hint.
 */
class WayInTest {
  private static final Instant AT = Instant.parse("2026-12-06T20:00:00Z");

  @Test
  void remedy_aStopNoted_namesItsRefusalWithoutForce() {
    WayIn w = capture(WayIn.STOPPED + "old is behind new's apply position: old lacks the tick; run `cutover-replicator cleanup`");

    assertThat(w.forcingLosesWrites()).isTrue();
    assertThat(WayIn.remedy(Optional.of(w), Target.OLD, Target.NEW, false))
        .startsWith("the `cutover-replicator apply` of old -> new (trigger capture) stopped for good at " + AT)
        .contains("old is behind new's apply position: old lacks the tick; run `cutover-replicator cleanup`")
        .contains("do not switch").contains("do not force it").doesNotContain("start `cutover-replicator apply`");
  }

  /**
   * g86: a retried failure is no stop, but forcing loses writes all the same: the apply, once past
   * it, applies old's change log over what new acknowledged since.
   */
  @Test
  void remedy_aRetriedFailure_isNoStopAndSaysNotToForce() {
    WayIn w = capture("An I/O error occurred while sending to the backend.");

    assertThat(w.forcingLosesWrites()).isTrue();
    assertThat(WayIn.remedy(Optional.of(w), Target.OLD, Target.NEW, false)).contains("fails").doesNotContain("stopped for good")
        .contains("fix the cause it names").contains("do not force the switch");
  }

  /** g86: a relay's apply that runs but lags is waited for, not forced past. */
  @Test
  void remedy_aRelayLagging_saysToWaitWithoutForce() {
    WayIn w = new WayIn("relay", "cutover_relay_app", null, true, AT, null, null, null, null);

    assertThat(w.forcingLosesWrites()).isTrue();
    assertThat(WayIn.remedy(Optional.of(w), Target.OLD, Target.NEW, false))
        .startsWith("the `cutover-replicator apply` of old -> new (a relay from slot cutover_relay_app on old) runs but lags")
        .contains("wait for it to catch up").contains("do not force the switch");
  }

  /** Nothing of the replicator's carries the way (another tool may): the only refusal that offers force. */
  @Test
  void forcingLosesWrites_nothingOfTheReplicatorsArmed_isFalse() {
    assertThat(new WayIn(null, null, null, false, null, null, null, null, null).forcingLosesWrites()).isFalse();
  }

  /**
   * r34 D2: a subscription's worker that runs but keeps failing (pg_stat_subscription_stats) says so,
   * and, as for one not running or disabled, force is not offered: the writes it has not applied
   * would overwrite the target's once it applies them.
   */
  @Test
  void remedy_aSubscriptionFailing_saysHowOftenWithoutForce() {
    WayIn w = new WayIn("subscription", "cutover_fwd_app", true, true, null, null, null, null, 3L);

    assertThat(w.forcingLosesWrites()).isTrue();
    assertThat(WayIn.remedy(Optional.of(w), Target.OLD, Target.NEW, false))
        .startsWith("old -> new is armed by subscription cutover_fwd_app on new, whose apply worker runs but lags or fails and"
            + " failed 3 time(s) since its statistics were reset (pg_stat_subscription_stats on new)")
        .contains("do not force the switch");
  }

  private static WayIn capture(String failure) {
    return new WayIn("capture", "forward", null, false, AT, failure, AT, null, null);
  }
}
