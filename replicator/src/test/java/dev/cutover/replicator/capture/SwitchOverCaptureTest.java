package dev.cutover.replicator.capture;

import static dev.cutover.replicator.capture.SwitchUnderLoad.WAIT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.cutover.driver.Outcome;
import dev.cutover.driver.SwitchEvent;
import dev.cutover.flags.Target;
import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.apply.Applier;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.replication.Reverse;
import dev.cutover.replicator.verify.Verifier;
import dev.cutover.replicator.verify.VerifyReport;
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
 * The driver's switch, unchanged, over trigger capture from 9.6 ({@link SwitchUnderLoad}: a
 * HikariCP pool of 10 through the Cutover driver with 8 writers, as an application role that
 * neither owns the tables nor may execute the replicator's functions); the replicator and its
 * apply run as the role that owns the tables. A switch while apply is stopped aborts and leaves
 * everything on old (I7); with apply running it completes to new (I1: every acknowledged write is
 * there at once, I2: old is fenced, I4: each writer reads its own write, I5: nothing fails after
 * the flip, I6: no key handed out twice); reverse capture, armed before the flip, carries new's
 * writes back, and the flip back to old loses nothing.
 */
@ExtendWith({PostgresPairExtension.class, NoLeakedConnections.class})
@PostgresVersions(oldMajor = 9, newMajor = 17)
class SwitchOverCaptureTest {

  @Test
  void switchAndBack_hikariPoolOfEightWriters_keepsEveryInvariant(PostgresPair pair) throws Exception {
    OwnedDatabase db = SwitchUnderLoad.database(pair);
    Replicator r = db.replicator(List.of(SwitchUnderLoad.APP));
    r.start(TriggerCaptureFlow.options(), new CopyProgress(), CopyListener.NONE);
    SwitchUnderLoad.run(pair, db, r, "capture-switch", () -> {
      Reverse.Report reverse = r.reverse(new Reverse.Options(Duration.ZERO, WAIT));
      assertThat(reverse.mode()).isEqualTo("capture");
    }, (run, apply, onNew) -> {
      SwitchUnderLoad.Writers writers = run.writers;
      try (Connection o = db.old()) {
        await().atMost(WAIT).untilAsserted(() -> assertThat(writers.missingFrom(o, onNew))
            .as("writes made on new, carried to old by reverse capture").isEmpty());
      }

      run.flag.set(Target.OLD);
      SwitchEvent back = run.next();
      assertThat(back.outcome()).as(back.summary()).isEqualTo(Outcome.COMPLETED);
      Set<Long> beforeBack = Set.copyOf(writers.acknowledged);
      try (Connection o = db.old()) {
        assertThat(writers.missingFrom(o, beforeBack)).as("flip back: acknowledged on either side, missing on old").isEmpty();
      }
      writers.awaitMore(100);
      run.stopWritersKeepingTheirInvariants();
      r.awaitCaughtUp(WAIT);
      VerifyReport verify = r.verify(Verifier.Options.defaults());
      assertThat(verify.source()).isEqualTo("old");
      assertThat(verify.differences()).as("%s", verify.tables()).isZero();
      try (Connection o = db.old(); Connection n = db.nw()) {
        assertThat(writers.missingFrom(o, Set.copyOf(writers.acknowledged))).isEmpty();
        assertThat(writers.missingFrom(n, Set.copyOf(writers.acknowledged))).isEmpty();
      }
      for (Applier a : apply.appliers()) {
        assertThat(a.missing()).as(a.way().label()).isZero();
      }
    });
  }
}
