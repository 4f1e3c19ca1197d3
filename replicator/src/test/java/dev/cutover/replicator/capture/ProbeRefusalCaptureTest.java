package dev.cutover.replicator.capture;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.driver.CutoverDriver;
import dev.cutover.driver.Outcome;
import dev.cutover.driver.SwitchEvent;
import dev.cutover.driver.SwitchEventQueue;
import dev.cutover.flags.ManualFlag;
import dev.cutover.flags.Target;
import dev.cutover.replicator.CutoverUrl;
import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.apply.Applier;
import dev.cutover.replicator.apply.ApplyProcess;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.operator.SwitchStatus;
import dev.cutover.replicator.operator.SwitchStatusReader;
import dev.cutover.replicator.replication.Reverse;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.PostgresVersions;
import dev.cutover.testkit.ReplicationTeardown;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A flip back refused at its probe with trigger capture, the way back armed (reverse capture) and
 * no {@code cutover-replicator apply} running (review r8 #2): the refusal names the remedy the
 * control state calls for (start the apply, not "arm reverse replication", which is done), without
 * offering {@code cutover.switch.force=true} (g86: forced, the writes new took since the switch and not
 * yet applied would be left behind, and an apply started later would overwrite old's with them), {@code
 * switch-status} shows it with its reason, and once the apply runs again the driver switches
 * without the flag being touched, since the flag still asks for old.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
@PostgresVersions(oldMajor = 9, newMajor = 17)
class ProbeRefusalCaptureTest {
  private static final Duration WAIT = Duration.ofSeconds(60);

  @Test
  void flipBack_wayBackArmedButNoApplyRunning_refusesNamingTheApplyShowsItInSwitchStatusAndRetriesOnceItRuns(PostgresPair pair)
      throws Exception {
    OwnedDatabase db = SwitchUnderLoad.database(pair);
    Replicator r = db.replicator(List.of(SwitchUnderLoad.APP));
    r.start(TriggerCaptureFlow.options(), new CopyProgress(), CopyListener.NONE);
    ManualFlag flag = ManualFlag.named(db.name + "-flag");
    flag.set(Target.OLD);
    String url = CutoverUrl.manualFlag(pair, db.name) + "&cutover.barrier.timeout=2s&cutover.switch.retry-interval=1s";
    Properties props = new Properties();
    props.setProperty("user", SwitchUnderLoad.APP);
    try (SwitchEventQueue events = new SwitchEventQueue(db.name); Connection app = DriverManager.getConnection(url, props)) {
      try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
        r.awaitCaughtUp(WAIT);
        assertThat(r.reverse(new Reverse.Options(Duration.ZERO, WAIT)).mode()).isEqualTo("capture");
        flag.set(Target.NEW);
        SwitchEvent there = events.next(WAIT);
        assertThat(there.outcome()).as(there.summary()).isEqualTo(Outcome.COMPLETED);
      } // the apply process stops: the way back stays armed, nothing carries it

      flag.set(Target.OLD);
      SwitchEvent refused = events.next(WAIT);

      assertThat(refused.outcome()).as(refused.summary()).isEqualTo(Outcome.ABORTED);
      assertThat(refused.reason()).contains("from new to old is not delivering")
          .contains("start `cutover-replicator apply`")
          .doesNotContain("cutover-replicator reverse")
          .contains("do not force the switch").doesNotContain("cutover.switch.force=true")
          .contains("retrying every 1 s while the flag asks for old (cutover.switch.retry-interval)");
      SwitchStatus status = SwitchStatusReader.read(r.old(), r.nw(), List.of(db.name), WAIT, "switch-status --network-timeout");
      SwitchStatus.Switch last = status.services().get(0).currentSwitch();
      assertThat(last).isNotNull();
      assertThat(last.state()).isEqualTo("aborted");
      assertThat(last.source()).isEqualTo("new");
      assertThat(last.target()).isEqualTo("old");
      assertThat(last.reason()).contains("start `cutover-replicator apply`");
      try (Connection n = db.nw()) {
        assertThat(OwnedDatabase.count(n, "SELECT count(*) FROM cutover.switch WHERE state = 'aborted'")).isEqualTo(1L);
      }

      try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
        SwitchEvent back = events.next(e -> e.outcome() == Outcome.COMPLETED, WAIT);
        assertThat(back).as("the flip back, retried once the apply runs, the flag untouched").isNotNull();
        assertThat(back.from()).isEqualTo(Target.NEW);
        assertThat(back.to()).isEqualTo(Target.OLD);
        assertThat(OwnedDatabase.count(app, "SELECT inet_server_port()")).as("the port app's next transaction runs on")
            .isEqualTo((long) pair.oldServer().port());
      }
    } finally {
      CutoverDriver.shutdown(db.name);
    }
  }
}
