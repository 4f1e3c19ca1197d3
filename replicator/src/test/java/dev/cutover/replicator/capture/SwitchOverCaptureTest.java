package dev.cutover.replicator.capture;

import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import dev.cutover.testkit.PostgresVersions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The driver's switch, unchanged, over trigger capture from 9.6 ({@link SwitchUnderLoad}: a
 * HikariCP pool of 10 through the Cutover driver with 8 writers, as an application role that
 * neither owns the tables nor may execute the replicator's functions); the replicator and its
 * apply run as the role that owns the tables. A switch while apply is stopped aborts and leaves
 * everything on old (I7); with apply running it completes to new (I1: every acknowledged write is
 * there at once, I2: old is fenced, I4: each writer reads its own write, I5: nothing fails after
 * the flip, I6: no key handed out twice); reverse capture, armed before the flip, carries new's
 * writes back, and the flip back to old loses nothing.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
@PostgresVersions(oldMajor = 9, newMajor = 17)
class SwitchOverCaptureTest {

  @Test
  void switchAndBack_hikariPoolOfEightWriters_keepsEveryInvariant(PostgresPair pair) throws Exception {
    OwnedDatabase db = SwitchUnderLoad.database(pair);
    Replicator r = db.replicator(List.of(SwitchUnderLoad.APP));
    r.start(TriggerCaptureFlow.options(), new CopyProgress(), CopyListener.NONE);
    SwitchUnderLoad.switchAndBack(pair, db, r, "capture-switch");
  }
}
