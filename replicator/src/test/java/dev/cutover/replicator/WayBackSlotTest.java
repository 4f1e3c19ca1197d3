package dev.cutover.replicator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.cutover.driver.CutoverDriver;
import dev.cutover.driver.Outcome;
import dev.cutover.driver.SwitchEvent;
import dev.cutover.driver.SwitchEventQueue;
import dev.cutover.driver.internal.control.Coordination;
import dev.cutover.flags.ManualFlag;
import dev.cutover.flags.Target;
import dev.cutover.replicator.replication.Reverse;
import dev.cutover.replicator.status.StatusReport;
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
 * The way back's slot on new and the transactions elsewhere on new's server that its creation
 * waits for: made by the switch as it opens new (reverse --prepare, below 16), or by reverse itself.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
@PostgresVersions(oldMajor = 12, newMajor = 17)
class WayBackSlotTest {
  @Test
  void reverse_switchOpenedNewWithoutThePreparedSlot_refusesNamingWhy(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "wayback");
    Replicator r = db.replicator();
    ReplicationFlowTest.start(r);
    r.prepareReverse();
    String other = pair.newServer().createDatabase(db.name + "_other");
    try (Connection x = pair.newServer().connect(other); Connection n = db.nw(); Connection o = db.old()) {
      AppDatabase.execute(x, "CREATE TABLE batch (id int)");
      AppDatabase.execute(x, "BEGIN; INSERT INTO batch VALUES (1); PREPARE TRANSACTION 'left-on-new'");
      try {
        Coordination.Opened opened = AppDatabase.openAsASwitch(n, Duration.ofMillis(200));

        assertThat(opened.slots()).isZero();
        assertThat(opened.missedSlots()).startsWith("cutover_rev_");
        assertThat(opened.missedBecause()).contains("prepared transaction 'left-on-new'");
        AppDatabase.fenceAsASwitch(o);
        assertThatThrownBy(() -> r.reverse(new Reverse.Options(Duration.ZERO, ReplicationFlowTest.CATCH_UP)))
            .isInstanceOfSatisfying(ReplicatorException.class, e -> {
              assertThat(e.failure()).isEqualTo(Failure.PRECONDITION);
              assertThat(e.getMessage()).contains("no slot " + opened.missedSlots() + " on new: reverse --prepare asked for it,"
                  + " but switch open-").contains("opened this database without it: creating it waited more than 200 ms")
                  .contains("'left-on-new'").contains("would miss every write committed on new since the switch");
              assertThat(e.remedy()).contains("--accept-missing-writes");
            });
      } finally {
        AppDatabase.execute(x, "ROLLBACK PREPARED 'left-on-new'");
      }
    }
    r.cleanup();
  }

  /**
   * Unprepared (or on 16+), reverse makes the way back's slot on new itself: a transaction prepared
   * and left in another database of new's server kept CREATE SUBSCRIPTION waiting in silence; now
   * the creation is watched and reverse gives up after --slot-wait naming it, and succeeds once it
   * has ended.
   */
  @Test
  void reverse_transactionLeftOnNewsServer_givesUpAfterTheSlotWaitNamingIt(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "wayslot");
    Replicator r = db.replicator();
    ReplicationFlowTest.start(r);
    String other = pair.newServer().createDatabase(db.name + "_other");
    Reverse.Options options = new Reverse.Options(Duration.ZERO, ReplicationFlowTest.CATCH_UP, true, Duration.ofSeconds(2));
    try (Connection x = pair.newServer().connect(other); Connection o = db.old()) {
      AppDatabase.fenceAsASwitch(o);
      AppDatabase.execute(x, "CREATE TABLE batch (id int)");
      AppDatabase.execute(x, "BEGIN; INSERT INTO batch VALUES (1); PREPARE TRANSACTION 'left-on-new'");
      try {
        assertThatThrownBy(() -> r.reverse(options)).isInstanceOfSatisfying(ReplicatorException.class, e -> {
          assertThat(e.failure()).isEqualTo(Failure.TIMEOUT);
          assertThat(e.getMessage()).startsWith("new: creating replication slot cutover_rev_").contains("waited 2 s for prepared"
              + " transaction 'left-on-new' of role " + pair.newServer().user() + " in database " + other);
          assertThat(e.remedy()).contains("COMMIT PREPARED").contains("run reverse again");
        });
      } finally {
        AppDatabase.execute(x, "ROLLBACK PREPARED 'left-on-new'");
      }
      Reverse.Report armed = r.reverse(options);
      assertThat(armed.way()).isEqualTo("new -> old");
    }
    r.cleanup();
  }

  /**
   * The slot the switch made for the way back lost its WAL (max_slot_wal_keep_size on new, old
   * down a while, r22): it can carry nothing back any more. Before, status called it PREPARED and
   * reverse armed the way back from it, exit 0, saying it "holds every write made on new since";
   * old's apply then failed for good and status sent the operator round the same loop. Now status
   * says BROKEN with a remedy that leads out, reverse refuses naming the slot, and with
   * --accept-missing-writes it drops the slot, makes a new one and says what is not carried.
   */
  @Test
  void reverse_preparedSlotLostItsWal_refusesNamingTheSlot_acceptingMissingWritesMakesANewOne(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "lostway");
    Replicator r = db.replicator();
    ReplicationFlowTest.start(r);
    r.prepareReverse();
    try (Connection n = db.nw(); Connection o = db.old()) {
      AppDatabase.openAsASwitch(n);
      AppDatabase.fenceAsASwitch(o);
      String slot = AppDatabase.strings(n, "SELECT slot_name FROM pg_replication_slots WHERE slot_name LIKE 'cutover\\_rev\\_%'"
          + " AND database = current_database()").get(0);
      loseWal(n, slot);

      StatusReport.Direction way = r.status().reverse();
      assertThat(way.state()).isEqualTo("broken");
      assertThat(way.problems()).noneMatch(p -> p.contains("holds the way back"))
          .anyMatch(p -> p.contains("slot " + slot + " on new lost WAL it needed") && p.contains("reverse --accept-missing-writes")
              && p.contains("verify"));

      assertThatThrownBy(() -> r.reverse(new Reverse.Options(Duration.ZERO, ReplicationFlowTest.CATCH_UP)))
          .isInstanceOfSatisfying(ReplicatorException.class, e -> {
            assertThat(e.failure()).isEqualTo(Failure.PRECONDITION);
            assertThat(e.getMessage()).contains("slot " + slot + " on new lost WAL it needed")
                .contains("writes committed on new since the switch");
            assertThat(e.remedy()).contains(slot).contains("reverse --accept-missing-writes").contains("verify");
          });
      assertThat(AppDatabase.count(o, "SELECT count(*) FROM pg_subscription WHERE subname LIKE 'cutover\\_rev\\_%'"
          + " AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())")).isZero();

      Reverse.Report armed = r.reverse(new Reverse.Options(Duration.ZERO, ReplicationFlowTest.CATCH_UP, true));
      assertThat(armed.steps()).noneMatch(s -> s.contains("holds every write"))
          .anyMatch(s -> s.contains(slot) && s.contains("lost WAL") && s.contains("dropped"))
          .anyMatch(s -> s.contains("not carried back"));
      assertThat(AppDatabase.strings(n, "SELECT wal_status FROM pg_replication_slots WHERE slot_name = '" + slot + "'"))
          .doesNotContain("lost");
      AppDatabase.execute(n, "INSERT INTO customer (id, email) VALUES (900401, 'after-lost-slot@example.com')");
      await().atMost(ReplicationFlowTest.CATCH_UP).until(() -> AppDatabase.count(o, "SELECT count(*) FROM customer WHERE id = 900401") == 1);
    }
    r.cleanup();
  }

  /**
   * After a flip back below 16 (new fenced, old open again), the way back new -> old still streams
   * but nothing carries old's writes to new, and a switch to new would lose them (r22). Status
   * printed only "reverse (new -> old): STREAMING" and no problem; now it names old as the serving
   * side whose writes go nowhere and the command that arms old -> new again.
   */
  @Test
  void status_afterAFlipBackWithoutForward_saysTheServingSidesWritesGoNowhere(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "flipback");
    Replicator r = db.replicator();
    ReplicationFlowTest.start(r);
    try (Connection n = db.nw(); Connection o = db.old()) {
      AppDatabase.fenceAsASwitch(o);
      r.reverse(new Reverse.Options(Duration.ZERO, ReplicationFlowTest.CATCH_UP, true));
      assertThat(r.status().reverse().problems()).noneMatch(p -> p.contains("serves"));

      AppDatabase.fenceAsASwitch(n);
      AppDatabase.openAsASwitch(o);
      assertThat(dev.cutover.driver.control.OperatorControl.fenceRaised(o)).as("old open again").isFalse();

      StatusReport status = r.status();
      assertThat(status.forward()).isNull();
      assertThat(status.reverse().problems()).anyMatch(p -> p.contains("old serves (new is fenced)")
          && p.contains("nothing carries old's writes to new") && p.contains("`cutover-replicator reverse`")
          && p.contains("--accept-missing-writes"));

      r.reverse(new Reverse.Options(Duration.ZERO, ReplicationFlowTest.CATCH_UP, true));
      assertThat(r.status().forward().problems()).noneMatch(p -> p.contains("serves"));
    }
    r.cleanup();
  }

  /**
   * The way back armed, then its slot lost its WAL while old's subscription was stopped (r22):
   * status read "0 ms by heartbeat" from the last beat that had reached old, while old could never
   * catch up again, and advised plain `reverse`, which then armed from the lost slot. Now a lost
   * slot gives no time lag, and the advice drops the subscription and runs reverse
   * --accept-missing-writes, which arms the way back from a new slot.
   */
  @Test
  void status_wayBackSlotLostWhileArmed_givesNoTimeLagAndARemedyOutOfTheLoop(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "lostarmed");
    Replicator r = db.replicator();
    ReplicationFlowTest.start(r);
    r.prepareReverse();
    try (Connection n = db.nw(); Connection o = db.old()) {
      AppDatabase.openAsASwitch(n);
      AppDatabase.fenceAsASwitch(o);
      Reverse.Report armed = r.reverse(new Reverse.Options(Duration.ZERO, ReplicationFlowTest.CATCH_UP));
      String slot = armed.slot();
      dev.cutover.replicator.replication.Heartbeat.beat(n, Side.NEW);
      long beats = dev.cutover.replicator.replication.Heartbeat.read(n, Side.NEW).orElseThrow().beats();
      await().atMost(ReplicationFlowTest.CATCH_UP).until(() -> dev.cutover.replicator.replication.Heartbeat.read(o, Side.NEW)
          .map(dev.cutover.replicator.replication.Heartbeat.Beat::beats).orElse(0L) == beats);
      AppDatabase.execute(o, "ALTER SUBSCRIPTION " + slot + " DISABLE");
      await().atMost(Duration.ofSeconds(20)).until(() -> AppDatabase.count(n, "SELECT count(*) FROM pg_replication_slots"
          + " WHERE slot_name = '" + slot + "' AND active") == 0);
      loseWal(n, slot);

      StatusReport.Direction way = r.status().reverse();
      assertThat(way.state()).isEqualTo("broken");
      assertThat(way.heartbeatLagMillis()).as("no time lag from a slot that lost its WAL").isNull();
      assertThat(way.problems()).anyMatch(p -> p.contains("slot " + slot + " on new lost WAL it needed")
          && p.contains("drop subscription " + slot + " on old") && p.contains("reverse --accept-missing-writes"));

      AppDatabase.execute(o, "ALTER SUBSCRIPTION " + slot + " SET (slot_name = NONE); DROP SUBSCRIPTION " + slot);
      StatusReport.Direction dropped = r.status().reverse();
      assertThat(dropped.subscriptionExists()).as("the subscription was dropped").isFalse();
      assertThat(dropped.problems()).anyMatch(p -> p.contains("slot " + slot + " on new lost WAL it needed")
          && p.contains("reverse --accept-missing-writes")).noneMatch(p -> p.contains("drop subscription"));
      Reverse.Report again = r.reverse(new Reverse.Options(Duration.ZERO, ReplicationFlowTest.CATCH_UP, true));
      assertThat(again.steps()).noneMatch(s -> s.contains("holds every write"));
      AppDatabase.execute(n, "INSERT INTO customer (id, email) VALUES (900402, 'after-lost-armed@example.com')");
      await().atMost(ReplicationFlowTest.CATCH_UP).until(() -> AppDatabase.count(o, "SELECT count(*) FROM customer WHERE id = 900402") == 1);
    }
    r.cleanup();
  }

  /**
   * New fails over after the switch and the reverse (r32 defect 1): before PostgreSQL 17 its standby
   * has no logical slots, so the slot the switch made for the way back is gone, and with it every
   * write made on new since the switch. The test stands for the failover by dropping that slot on new
   * (its walsender terminated first), which leaves what the promoted standby leaves. Before, status,
   * catch-up and the driver's refusal of the flip back sent the operator to plain `reverse`, which then
   * refused saying `reverse --prepare` had not been run; now they name reverse --accept-missing-writes
   * and the reconcile with verify, and reverse says the slot the switch made is gone.
   */
  @Test
  void reverse_slotTheSwitchMadeGoneWithNewsFailover_everyToolNamesTheLossAndTheRemedy(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "newfail");
    Replicator r = db.replicator();
    ReplicationFlowTest.start(r);
    r.prepareReverse();
    ManualFlag flag = ManualFlag.named(db.name + "-flag");
    flag.set(Target.OLD);
    try (SwitchEventQueue events = new SwitchEventQueue(db.name); Connection app = OldFailoverTest.app(pair, db);
        Connection o = db.old(); Connection n = db.nw()) {
      flag.set(Target.NEW);
      SwitchEvent switched = events.next(Duration.ofSeconds(60));
      assertThat(switched.outcome()).as(switched.summary()).isEqualTo(Outcome.COMPLETED);
      String slot = r.reverse(new Reverse.Options(Duration.ZERO, ReplicationFlowTest.CATCH_UP)).slot();
      OldFailoverTest.dropSlotAsAFailover(n, slot);

      StatusReport.Direction way = r.status().reverse();
      assertThat(way.state()).isEqualTo("broken");
      assertThat(way.problems()).as("%s", way.problems()).anySatisfy(p -> assertThat(p).contains("slot " + slot + " on new is missing")
          .contains("new failed over").contains("DROP SUBSCRIPTION").contains("reverse --accept-missing-writes").contains("verify"));
      assertThatThrownBy(() -> r.awaitCaughtUp(Duration.ofSeconds(15))).isInstanceOfSatisfying(ReplicatorException.class,
          e -> assertThat(e.remedy()).contains("DROP SUBSCRIPTION").contains("reverse --accept-missing-writes").contains("verify"));

      flag.set(Target.OLD);
      SwitchEvent refused = events.next(Duration.ofSeconds(60));
      assertThat(refused.outcome()).as(refused.summary()).isEqualTo(Outcome.ABORTED);
      assertThat(refused.reason()).contains("slot " + slot + " is gone from new").contains("do not force it")
          .contains("DROP SUBSCRIPTION").contains("reverse --accept-missing-writes").contains("verify");

      AppDatabase.execute(o, "ALTER SUBSCRIPTION " + slot + " DISABLE; ALTER SUBSCRIPTION " + slot + " SET (slot_name = NONE);"
          + " DROP SUBSCRIPTION " + slot);
      assertThatThrownBy(() -> r.reverse(new Reverse.Options(Duration.ZERO, ReplicationFlowTest.CATCH_UP)))
          .isInstanceOfSatisfying(ReplicatorException.class, e -> {
            assertThat(e.failure()).isEqualTo(Failure.PRECONDITION);
            assertThat(e.getMessage()).contains("slot " + slot + ", which the switch made on new at ").contains("is gone from new")
                .contains("failed over").doesNotContain("was not run");
            assertThat(e.remedy()).contains("reverse --accept-missing-writes").contains("verify").contains("cleanup")
                .doesNotContain("prepare before the next switch");
          });
    } finally {
      CutoverDriver.shutdown(db.name);
    }
    r.cleanup();
  }

  /** Makes {@code slot} on new's server lose the WAL it holds (it must be inactive), then puts the server's setting back. */
  static void loseWal(Connection n, String slot) throws Exception {
    try {
      AppDatabase.execute(n, "ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'");
      AppDatabase.execute(n, "SELECT pg_reload_conf()");
      await().atMost(Duration.ofSeconds(30)).until(() -> {
        AppDatabase.execute(n, "SELECT pg_logical_emit_message(false, 'test', repeat('x', 1000)); SELECT pg_switch_wal(); CHECKPOINT");
        return AppDatabase.strings(n, "SELECT coalesce(wal_status, '') FROM pg_replication_slots WHERE slot_name = '" + slot + "'")
            .equals(java.util.List.of("lost"));
      });
    } finally {
      AppDatabase.execute(n, "ALTER SYSTEM RESET max_slot_wal_keep_size");
      AppDatabase.execute(n, "SELECT pg_reload_conf()");
    }
  }
}
