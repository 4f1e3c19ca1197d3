package dev.cutover.torture;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.replicator.Failure;
import dev.cutover.replicator.ReplicatorException;
import org.junit.jupiter.api.Test;

class OperatorTest {
  private static final String SLOT = "cutover_rev_torture";

  @Test
  void refusedForMissingSlot_reverseRefusesForTheWayBacksSlot_isTheDocumentedRefusal() {
    ReplicatorException e = new ReplicatorException(Failure.PRECONDITION, "no slot " + SLOT + " on new: the switch created none",
        "prepare before the next switch");

    assertThat(Operator.refusedForMissingSlot(e, SLOT)).isTrue();
  }

  @Test
  void refusedForMissingSlot_otherPreconditionOrFailure_isNotTheRefusal() {
    assertThat(Operator.refusedForMissingSlot(new ReplicatorException(Failure.PRECONDITION,
        "old is not fenced", "wait for the switch"), SLOT)).isFalse();
    assertThat(Operator.refusedForMissingSlot(new ReplicatorException(Failure.TIMEOUT,
        "no slot " + SLOT + " on new", ""), SLOT)).isFalse();
    assertThat(Operator.refusedForMissingSlot(new ReplicatorException(Failure.PRECONDITION,
        "no slot cutover_fwd_torture on old", ""), SLOT)).isFalse();
  }
}
