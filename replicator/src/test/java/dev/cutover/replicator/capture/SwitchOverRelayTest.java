package dev.cutover.replicator.capture;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.replication.KeylessTables;
import dev.cutover.replicator.replication.StartOptions;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import dev.cutover.testkit.PostgresVersions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The driver's switch, unchanged, over relayed logical replication ({@code start --capture relay})
 * from 13 to 17, under the load of {@link SwitchUnderLoad}, to new and back: the replicator and
 * {@code apply}, which reads old's slot, writes into new and applies the way back (trigger capture
 * on new) into old, run as the role that owns the tables (with REPLICATION on old and SET on
 * {@code session_replication_role} on new), the application as a role that owns nothing. The
 * driver's barrier row is published like the application's tables, so the relay brings it to new
 * in commit order; on the way back it travels through new's change log. Every invariant holds as
 * over trigger capture.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
@PostgresVersions(oldMajor = 13, newMajor = 17)
class SwitchOverRelayTest {
  private static final StartOptions RELAY = StartOptions.defaults().withCapture(Capture.RELAY).withKeyless(KeylessTables.ALL_FULL);

  @Test
  void switchAndBack_hikariPoolOfEightWriters_keepsEveryInvariant(PostgresPair pair) throws Exception {
    OwnedDatabase db = SwitchUnderLoad.database(pair);
    db.ownerMayRelay();
    Replicator r = db.replicator(List.of(SwitchUnderLoad.APP));
    assertThat(r.start(RELAY, new CopyProgress(), CopyListener.NONE).engine()).isEqualTo(Capture.RELAY);
    SwitchUnderLoad.switchAndBack(pair, db, r, "relay-switch");
  }
}
