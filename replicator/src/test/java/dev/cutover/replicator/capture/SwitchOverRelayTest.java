package dev.cutover.replicator.capture;

import static dev.cutover.replicator.capture.SwitchUnderLoad.WAIT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.apply.Applier;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.replication.KeylessTables;
import dev.cutover.replicator.replication.Reverse;
import dev.cutover.replicator.replication.StartOptions;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.PostgresVersions;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The driver's switch, unchanged, over relayed logical replication ({@code start --capture
 * relay}) from 13 to 17, under the load of {@link SwitchUnderLoad}: the replicator and {@code
 * apply}, which reads old's slot and writes into new, run as the role that owns the tables (with
 * REPLICATION on old and SET on {@code session_replication_role} on new), the application as a
 * role that owns nothing. The driver's barrier row is published like the application's tables, so
 * the relay brings it to new in commit order. A switch while apply is stopped aborts and leaves
 * everything on old (I7); with apply running it completes to new (I1: every acknowledged write is
 * there at once, I2: old is fenced and takes no booking after the switch, I4: each writer reads its
 * own write, I5: nothing fails after the flip, I6: no key handed out twice). Relay has no way back
 * yet: reverse is refused, right before the switch and after it.
 */
@ExtendWith({PostgresPairExtension.class, NoLeakedConnections.class})
@PostgresVersions(oldMajor = 13, newMajor = 17)
class SwitchOverRelayTest {
  private static final StartOptions RELAY = StartOptions.defaults().withCapture(Capture.RELAY).withKeyless(KeylessTables.ALL_FULL);

  @Test
  void switchToNew_hikariPoolOfEightWriters_keepsEveryInvariantAndRefusesTheWayBack(PostgresPair pair) throws Exception {
    OwnedDatabase db = SwitchUnderLoad.database(pair);
    db.ownerMayRelay();
    Replicator r = db.replicator(List.of(SwitchUnderLoad.APP));
    assertThat(r.start(RELAY, new CopyProgress(), CopyListener.NONE).engine()).isEqualTo(Capture.RELAY);
    SwitchUnderLoad.run(pair, db, r, "relay-switch", () -> assertNoWayBack(r), (run, apply, onNew) -> {
      assertNoWayBack(r);
      run.stopWritersKeepingTheirInvariants();
      Set<Long> all = Set.copyOf(run.writers.acknowledged);
      try (Connection o = db.old(); Connection n = db.nw()) {
        assertThat(run.writers.missingFrom(n, all)).as("acknowledged on either side, missing on new").isEmpty();
        assertThat(OwnedDatabase.count(n, "SELECT count(*) FROM booking WHERE writer > 0")).as("the writers' bookings on new")
            .isEqualTo(all.size());
        assertThat(onNew).as("writes acknowledged after the switch").isNotEmpty();
        assertThat(OwnedDatabase.count(o, "SELECT count(*) FROM booking WHERE writer > 0")).as("I2: the writers' bookings on old")
            .isEqualTo(run.oldBookingsAtSwitch);
      }
      Applier forward = apply.appliers().get(0);
      assertThat(forward.missing()).as("changes that found no row").isZero();
      assertThat(forward.running()).as("apply still relays (last error: %s)", forward.lastError()).isTrue();
    });
  }

  private static void assertNoWayBack(Replicator r) {
    assertThatThrownBy(() -> r.reverse(new Reverse.Options(Duration.ZERO, WAIT))).isInstanceOf(ReplicatorException.class)
        .hasMessageContaining("no way back yet");
  }
}
