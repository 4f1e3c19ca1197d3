package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.flags.Target;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class SwitchEventQueueTest {
  private static SwitchEvent aborted(String service, String id, String reason) {
    return SwitchEvent.builder().instance(service, "i1").switchOf(id, Target.OLD, Target.NEW).aborted(reason)
        .gateWaits(0, Duration.ZERO, Duration.ZERO).total(Duration.ZERO).at(Instant.now()).build();
  }

  @Test
  void next_wanted_passesOverOtherEventsAndOtherServices() throws Exception {
    try (SwitchEventQueue queue = new SwitchEventQueue("queued")) {
      queue.onSwitch(aborted("queued", "s1", "the new database is unreachable"));
      queue.onSwitch(aborted("elsewhere", "s2", "replication does not carry 1 table(s)"));
      queue.onSwitch(aborted("queued", "s3", "replication does not carry 1 table(s)"));

      SwitchEvent found = queue.next(e -> e.reason().contains("does not carry"), Duration.ofSeconds(5));

      assertThat(found.id()).isEqualTo("s3");
      assertThat(queue.next(Duration.ZERO)).as("the events passed over are gone").isNull();
    }
  }

  @Test
  void next_wantedNoneWithinTheTimeout_null() throws Exception {
    try (SwitchEventQueue queue = new SwitchEventQueue("queued")) {
      queue.onSwitch(aborted("queued", "s1", "the new database is unreachable"));

      assertThat(queue.next(e -> e.outcome() == Outcome.COMPLETED, Duration.ofMillis(50))).isNull();
    }
  }
}
