package dev.cutover.replicator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.cutover.driver.Outcome;
import dev.cutover.driver.SwitchEvent;
import dev.cutover.driver.SwitchEventQueue;
import dev.cutover.flags.ManualFlag;
import dev.cutover.flags.Target;
import dev.cutover.replicator.replication.Heartbeat;
import dev.cutover.replicator.replication.Reverse;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import java.sql.Connection;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The native gap check against the way back armed after the switch, which only servers below 16
 * need (with 16+ on both sides the way back is armed before it, with origin = none, and nothing
 * comes back): on its own, not in {@link ReplicationFlow}, whose 16-to-18 subclass would skip it.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
class WayBackEchoTest {

  /**
   * Below 16 the way back is armed after the switch, from a slot the switch made while forward
   * still ran: the beats of old that forward applied to new after that point are in the slot, and
   * the way back carries them into old, older than old's own count (the sample app's rehearsal,
   * 12 to 17, where old's writer beats throughout). Old also holds a stale copy of new's row (as
   * an earlier way back left it). The gap check takes new's first beat as it comes, skips the echo
   * of old's own row, and the way back keeps applying; before, the apply stopped at the echo for
   * good ("the heartbeat of old went back: new holds beat 5 of it and the next beat to arrive is
   * 5") and the write made on new never reached old.
   */
  @Test
  void reverse_armedAfterTheSwitch_echoOfTheTargetsOwnBeatAndStaleRowOfTheSource_keepsApplying(PostgresPair pair)
      throws Exception {
    AppDatabase db = AppDatabase.create(pair, "echo");
    Replicator r = db.replicator();
    ReplicationFlowTest.start(r);
    assertThat(r.prepareReverse()).anyMatch(step -> step.contains("will create slot cutover_rev_") && step.contains("on new"));
    ManualFlag flag = ManualFlag.named(db.name + "-flag");
    flag.set(Target.OLD);
    String url = CutoverUrl.manualFlag(pair, db.name);
    java.util.Properties props = new java.util.Properties();
    props.setProperty("user", pair.oldServer().user());
    try (SwitchEventQueue events = new SwitchEventQueue(db.name);
        Connection app = java.sql.DriverManager.getConnection(url, props); Connection o = db.old(); Connection n = db.nw()) {
      // A stale copy of new's row on old (1), carried to new by forward, where new's own writer moves it on (to 4).
      AppDatabase.execute(o, "INSERT INTO cutover.replication_heartbeat (origin, beat_at, beats) VALUES ('new', now(), 1)");
      await().atMost(ReplicationFlowTest.CATCH_UP).until(() -> Heartbeat.read(n, Side.NEW).isPresent());
      for (int i = 0; i < 3; i++) {
        Heartbeat.beat(n, Side.NEW);
      }
      Heartbeat.beat(o, Side.OLD);
      flag.set(Target.NEW);
      SwitchEvent event = events.next(Duration.ofSeconds(60));
      assertThat(event).isNotNull();
      assertThat(event.outcome()).as(event.summary()).isEqualTo(Outcome.COMPLETED);
      // Old beats on after the switch (the fence does not guard the control schema); forward, not dropped yet, carries the
      // beats to new after the way back's slot was made: they will come back.
      for (int i = 0; i < 4; i++) {
        Heartbeat.beat(o, Side.OLD);
      }
      long oldBeats = Heartbeat.read(o, Side.OLD).orElseThrow().beats();
      await().atMost(ReplicationFlowTest.CATCH_UP).until(() -> Heartbeat.read(n, Side.OLD).map(Heartbeat.Beat::beats).orElse(0L) == oldBeats);
      AppDatabase.execute(app, "INSERT INTO customer (id, email) VALUES (900201, 'after-the-echo@example.com')");
      Reverse.Report report = r.reverse(new Reverse.Options(Duration.ZERO, ReplicationFlowTest.CATCH_UP));
      assertThat(report.way()).isEqualTo("new -> old");
      Heartbeat.beat(n, Side.NEW);
      Heartbeat.beat(n, Side.NEW);
      long newBeats = Heartbeat.read(n, Side.NEW).orElseThrow().beats();
      AppDatabase.execute(app, "INSERT INTO customer (id, email) VALUES (900202, 'after-the-beats@example.com')");
      await().atMost(ReplicationFlowTest.CATCH_UP).until(() -> AppDatabase.count(o, "SELECT count(*) FROM customer WHERE id IN (900201, 900202)") == 2);
      assertThat(Heartbeat.read(o, Side.NEW).orElseThrow().beats()).as("old's copy of new's row follows new").isEqualTo(newBeats);
      assertThat(Heartbeat.read(o, Side.OLD).orElseThrow().beats()).as("old's own row, not moved by its echo").isEqualTo(oldBeats);
      r.awaitCaughtUp(ReplicationFlowTest.CATCH_UP);
      // A real gap after the anchor still stops the way back: old's copy of new's row lowered, as a failover of old would.
      AppDatabase.execute(o, "UPDATE cutover.replication_heartbeat SET beats = beats - 2 WHERE origin = 'new'");
      assertThatThrownBy(() -> r.awaitCaughtUp(Duration.ofSeconds(5)))
          .as("catch-up must not pass a gap in new's beats")
          .isInstanceOfSatisfying(ReplicatorException.class, e -> assertThat(e.failure()).isEqualTo(Failure.TIMEOUT));
      AppDatabase.execute(app, "INSERT INTO customer (id, email) VALUES (900203, 'after-the-gap@example.com')");
      assertThatThrownBy(() -> r.awaitCaughtUp(Duration.ofSeconds(3)))
          .as("the way back retries the gap and never passes it")
          .isInstanceOfSatisfying(ReplicatorException.class, e -> assertThat(e.failure()).isEqualTo(Failure.TIMEOUT));
      assertThat(AppDatabase.count(o, "SELECT count(*) FROM customer WHERE id = 900203")).as("nothing after the gap").isZero();
    } finally {
      dev.cutover.driver.CutoverDriver.shutdown(db.name);
    }
  }

}
