package dev.cutover.replicator.capture;

import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.replicator.Failure;
import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.replication.StartOptions;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.PostgresVersions;
import dev.cutover.testkit.ReplicationTeardown;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@code start --resume} where old has trigger capture (review r12 #4): its start keeps no slot
 * and no record to continue from, and the refusal says so and what to do, instead of that old has
 * no replication slot.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
@PostgresVersions(oldMajor = 9, newMajor = 17)
class TriggerCaptureResumeTest {

  @Test
  void startResume_triggerCapture_refusedSayingItsCopyStartsOver(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "resume_tc");
    Replicator r = db.replicator();
    r.start(TriggerCaptureFlow.options(), new CopyProgress(), CopyListener.NONE);

    assertThatThrownBy(() -> r.start(StartOptions.defaults().withResume(true), new CopyProgress(), CopyListener.NONE))
        .isInstanceOfSatisfying(ReplicatorException.class, e -> {
          assertThat(e.failure()).isEqualTo(Failure.PRECONDITION);
          assertThat(e.getMessage()).contains("trigger capture").contains("cannot be resumed").doesNotContain("slot");
          assertThat(e.remedy()).contains("cutover-replicator cleanup").contains("start --capture triggers");
        });
    r.cleanup();
  }
}
