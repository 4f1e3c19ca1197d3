package dev.cutover.replicator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.cutover.replicator.replication.Reverse;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import dev.cutover.testkit.PostgresVersions;
import java.sql.Connection;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Below 16, reverse drains the running replication with a barrier marker before it drops it. A side
 * that does not answer within the drain timeout is named as such, not reported as replication that
 * did not deliver: the remedy is the network or a lock, not the subscription.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
@PostgresVersions(oldMajor = 12, newMajor = 17)
class ReverseDrainTest {
  @Test
  void reverse_barrierLockedOnOldDuringTheDrain_namesOldAndArmsOnceItIsLetGo(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "revdrain");
    Replicator r = db.replicator();
    ReplicationFlowTest.start(r);
    Reverse.Options quick = new Reverse.Options(Duration.ZERO, Duration.ofSeconds(2), true);
    try (Connection o = db.old()) {
      AppDatabase.fenceAsASwitch(o);
      try (Connection locker = db.old()) {
        locker.setAutoCommit(false);
        AppDatabase.execute(locker, "LOCK TABLE cutover.barrier IN ACCESS EXCLUSIVE MODE");

        ReplicatorException refused = assertTimeoutPreemptively(ReplicationFlowTest.CATCH_UP,
            () -> catchThrowableOfType(() -> r.reverse(quick), ReplicatorException.class));

        assertThat(refused).as("reverse while old's barrier table is locked").isNotNull();
        assertThat(refused.failure()).isEqualTo(Failure.TIMEOUT);
        assertThat(refused.getMessage()).startsWith("old: no answer within 2000 ms while draining")
            .contains("barrier marker's write on cutover.barrier");
        assertThat(refused.remedy()).contains("check the network to old").contains("retry reverse");
        locker.rollback();
      }
      Reverse.Report armed = r.reverse(new Reverse.Options(Duration.ZERO, ReplicationFlowTest.CATCH_UP, true));
      assertThat(armed.way()).isEqualTo("new -> old");
    }
    r.cleanup();
  }
}
