package dev.cutover.replicator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.cutover.driver.CutoverDriver;
import dev.cutover.driver.Outcome;
import dev.cutover.driver.SwitchEvent;
import dev.cutover.driver.SwitchEventQueue;
import dev.cutover.flags.ManualFlag;
import dev.cutover.flags.Target;
import dev.cutover.replicator.apply.Applier;
import dev.cutover.replicator.apply.ApplyProcess;
import dev.cutover.replicator.capture.Capture;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.status.StatusReport;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Duration;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Old fails over to a physical standby during the window (review r31): before PostgreSQL 17's
 * failover slots the standby has no logical slots, so the slot that carried old -> new is gone and
 * nothing replicates again. The tests stand for the failover by dropping the slot by hand (its
 * walsender terminated first), which leaves what a promoted standby leaves: old answers, with this
 * migration's control schema and publication, without the slot. Status, catch-up, cleanup and the
 * driver's switch refusal must name that and its remedy, never "loses nothing", and never offer to
 * force a switch that would abandon every write made on old since.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
class OldFailoverTest {
  private static final Duration WAIT = Duration.ofSeconds(60);

  /**
   * Relay: the apply stops for good on the missing slot (exit 5), after the failover's connection
   * reset was noted on new as a retried failure. Before, that stale note stayed: status said "it
   * retries the batch and loses nothing", and the driver's refusal named the reset and advised
   * starting apply or cutover.switch.force=true.
   */
  @Test
  void relay_slotGoneAfterFailover_statusCatchUpAndSwitchRefusalNameTheStopWithoutForce(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "failrelay");
    Replicator r = db.replicator();
    r.start(ReplicationFlowTest.options().withCapture(Capture.RELAY), new CopyProgress(), CopyListener.NONE);
    ManualFlag flag = ManualFlag.named(db.name + "-flag");
    flag.set(Target.OLD);
    try (SwitchEventQueue events = new SwitchEventQueue(db.name); Connection app = app(pair, db);
        ApplyProcess apply = r.apply(Applier.Options.defaults())) {
      r.awaitCaughtUp(WAIT);
      Applier applier = apply.appliers().get(0);

      dropSlotAsAFailover(db, Names.defaultFor(db.name).forwardSlot());
      await().atMost(WAIT).until(() -> applier.refusal() != null);

      StatusReport.Direction forward = r.status().forward();
      assertThat(forward.state()).isEqualTo("broken");
      assertThat(forward.problems()).as("%s", forward.problems()).noneMatch(p -> p.contains("loses nothing"))
          .anySatisfy(p -> assertThat(p).contains("the apply into new stopped for good").contains("has no replication slot")
              .contains("run `cutover-replicator cleanup`, empty new's tables and start again"));
      assertThatThrownBy(() -> r.awaitCaughtUp(Duration.ofSeconds(15))).isInstanceOf(ReplicatorException.class)
          .hasMessageContaining("stopped for good").hasMessageContaining("has no replication slot")
          .hasMessageNotContaining("loses nothing");

      flag.set(Target.NEW);
      SwitchEvent refused = events.next(WAIT);
      assertThat(refused.outcome()).as(refused.summary()).isEqualTo(Outcome.ABORTED);
      assertThat(refused.reason()).contains("stopped for good").contains("has no replication slot")
          .contains("do not force it").doesNotContain("cutover.switch.force=true").doesNotContain("start `cutover-replicator apply`");
    } finally {
      CutoverDriver.shutdown(db.name);
    }
  }

  /**
   * Native: the subscription's slot is gone. Before, status and catch-up said only "run cleanup and
   * start again", and cleanup then refused blaming the URLs.
   */
  @Test
  void native_slotGoneAfterFailover_statusCatchUpAndCleanupGiveTheDetach(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "failnative");
    Replicator r = db.replicator();
    ReplicationFlowTest.start(r);
    r.awaitCaughtUp(WAIT);
    Names names = Names.defaultFor(db.name);

    dropSlotAsAFailover(db, names.forwardSlot());

    StatusReport.Direction forward = r.status().forward();
    assertThat(forward.state()).isEqualTo("broken");
    assertThat(forward.problems()).as("%s", forward.problems()).anySatisfy(p -> assertThat(p).contains("failed over")
        .contains(detach(names)).contains("then run `cutover-replicator cleanup`"));
    assertThatThrownBy(() -> r.awaitCaughtUp(Duration.ofSeconds(15))).isInstanceOf(ReplicatorException.class)
        .satisfies(e -> assertThat(((ReplicatorException) e).remedy()).contains(detach(names)).contains("cleanup"));
    assertThatThrownBy(r::cleanup).isInstanceOf(ReplicatorException.class)
        .satisfies(e -> assertThat(((ReplicatorException) e).oneLine()).contains("failed over").contains(detach(names))
            .doesNotContain("are not the two sides").doesNotContain("--new-url"));
  }

  /**
   * Native: the subscription's slot is gone. Before, the driver's refusal said the apply worker "runs
   * but lags or fails" and offered cutover.switch.force=true, which abandons every write made on old since.
   */
  @Test
  void native_slotGoneAfterFailover_switchRefusalNamesTheGoneSlotWithoutForce(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "failswitch");
    Replicator r = db.replicator();
    ReplicationFlowTest.start(r);
    r.awaitCaughtUp(WAIT);
    Names names = Names.defaultFor(db.name);
    dropSlotAsAFailover(db, names.forwardSlot());

    ManualFlag flag = ManualFlag.named(db.name + "-flag");
    flag.set(Target.OLD);
    try (SwitchEventQueue events = new SwitchEventQueue(db.name); Connection app = app(pair, db)) {
      flag.set(Target.NEW);
      SwitchEvent refused = events.next(WAIT);
      assertThat(refused.outcome()).as(refused.summary()).isEqualTo(Outcome.ABORTED);
      assertThat(refused.reason()).contains("slot " + names.forwardSlot() + " is gone from old").contains("do not force it")
          .contains(detach(names)).doesNotContain("cutover.switch.force=true").doesNotContain("runs but lags or fails");
    } finally {
      CutoverDriver.shutdown(db.name);
    }
  }

  /** The statements that detach the forward subscription from its slot, as the remedies give them. */
  private static String detach(Names names) {
    return "ALTER SUBSCRIPTION \"" + names.forward() + "\" DISABLE; ALTER SUBSCRIPTION \"" + names.forward()
        + "\" SET (slot_name = NONE)";
  }

  /** A connection of the application through the driver, following flag {@code <database>-flag}, probing for 2 s. */
  static Connection app(PostgresPair pair, AppDatabase db) throws Exception {
    Properties props = new Properties();
    props.setProperty("user", pair.oldServer().user());
    return DriverManager.getConnection(CutoverUrl.manualFlag(pair, db.name) + "&cutover.barrier.timeout=2s"
        + "&cutover.switch.retry-interval=10m", props);
  }

  /** Drops {@code slot} on old as a failover of old to a standby without it leaves it ({@link #dropSlotAsAFailover(Connection, String)}). */
  private static void dropSlotAsAFailover(AppDatabase db, String slot) throws Exception {
    try (Connection o = db.old()) {
      dropSlotAsAFailover(o, slot);
    }
  }

  /**
   * Drops {@code slot} on the source {@code c} is connected to as a failover to a standby without it
   * leaves it: its walsender is terminated first, and the reader reconnecting meanwhile holds it
   * again, so until the drop went through.
   */
  static void dropSlotAsAFailover(Connection c, String slot) throws Exception {
    await().atMost(WAIT).ignoreExceptions().until(() -> {
      AppDatabase.strings(c, "SELECT pg_terminate_backend(active_pid)::text FROM pg_replication_slots WHERE slot_name = '" + slot
          + "' AND active_pid IS NOT NULL");
      AppDatabase.execute(c, "SELECT pg_drop_replication_slot('" + slot + "')");
      return true;
    });
  }
}
