package dev.cutover.replicator.capture;

import dev.cutover.replicator.Replicator;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import dev.cutover.testkit.PostgresVersions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Trigger capture from PostgreSQL 9.6, which has no logical decoding at all, to 17. */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
@PostgresVersions(oldMajor = 9, newMajor = 17)
class TriggerCapture96To17Test extends TriggerCaptureFlow {

  /** {@link OwnedDatabase#killApplyMidBatchAndRestart} over trigger capture. */
  @Test
  void apply_killedWithSigkillMidBatch_restartLosesAndRepeatsNothing(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "kill");
    Replicator r = started(db);
    db.killApplyMidBatchAndRestart(r, CATCH_UP);
  }
}
