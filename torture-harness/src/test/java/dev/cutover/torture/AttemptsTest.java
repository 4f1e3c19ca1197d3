package dev.cutover.torture;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class AttemptsTest {
  private static final String PROBE = "replication from new to old is not delivering: a probe marker did not arrive within"
      + " 3000 ms (cutover.barrier.timeout), so the switch would lose the writes not yet replicated";

  private static JournalReader.Event event(String instance, String id, boolean completed, String reason, boolean leader) {
    return new JournalReader.Event(instance, id, "new", "old", completed, reason, leader, 1000, 50, 0);
  }

  @Test
  void add_sharedIdAcrossInstances_isOneAttempt() {
    Attempts attempts = new Attempts();
    attempts.add(1, List.of(event("a", "s1", true, "", true), event("b", "s1", true, "", false)));
    assertThat(attempts.all()).singleElement().satisfies(a -> {
      assertThat(a.outcome()).isEqualTo(Attempts.Outcome.COMPLETED);
      assertThat(a.instances()).containsExactly("a", "b");
    });
  }

  @Test
  void add_refusalsBeforeTheInstancesMet_areOneAttemptPerRoundAndDirection() {
    Attempts attempts = new Attempts();
    attempts.add(1, List.of(event("a", "x1", false, PROBE, false), event("b", "x2", false, PROBE, false)));
    attempts.add(2, List.of(event("a", "x3", false, PROBE, false)));
    assertThat(attempts.all()).hasSize(2).allSatisfy(a -> {
      assertThat(a.outcome()).isEqualTo(Attempts.Outcome.ABORTED);
      assertThat(a.reason()).isEqualTo("replication not delivering (refused before the gate)");
    });
  }

  @Test
  void add_eventsOfOneSwitchReadInTwoRounds_mergeIntoOneSplitAttempt() {
    Attempts attempts = new Attempts();
    attempts.add(1, List.of(event("a", "s1", true, "", true), event("b", "s1", true, "", false)));
    attempts.add(2, List.of(event("c", "s1", false, "no decision from the leader of torture within 9000 ms", false)));
    assertThat(attempts.all()).singleElement().satisfies(a -> {
      assertThat(a.round()).isEqualTo(1);
      assertThat(a.outcome()).isEqualTo(Attempts.Outcome.SPLIT);
      assertThat(a.reason()).isEqualTo("no decision from the leader");
    });
    assertThat(attempts.moved()).isEqualTo(1);
  }

  @Test
  void add_instanceAbortsThenRejoinsTheSameSwitch_itsLastEventCounts() {
    Attempts attempts = new Attempts();
    attempts.add(1, List.of(event("a", "s1", true, "", true),
        event("b", "s1", false, "failed while coordinating: An I/O error occurred", false), event("b", "s1", true, "", false)));
    assertThat(attempts.all()).singleElement().satisfies(a -> {
      assertThat(a.outcome()).isEqualTo(Attempts.Outcome.COMPLETED);
      assertThat(a.instances()).containsExactly("a", "b");
    });
  }

  @Test
  void category_failureWhileAPhase_namesThePhase() {
    assertThat(Attempts.category("failed while waiting for the barrier: An I/O error occurred"))
        .isEqualTo("failed while waiting for the barrier");
    assertThat(Attempts.category("failed while opening connections to new: Connection refused"))
        .isEqualTo("failed while opening connections to");
  }
}
