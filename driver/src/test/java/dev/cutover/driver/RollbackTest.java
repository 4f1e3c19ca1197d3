package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.cutover.driver.internal.control.Coordination;
import dev.cutover.driver.internal.control.Fence;
import dev.cutover.driver.Outcome;
import dev.cutover.driver.SwitchEvent;
import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresPair;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

/** Rollback by flag: lossless while reverse replication runs, refused without it unless forced. */
@LeakCheckedPair
class RollbackTest {
  private static final String SCHEMA = "CREATE TABLE note (id serial PRIMARY KEY, body text NOT NULL)";

  @Test
  void flipBack_withoutReverseReplication_isRefusedAndSaysHowToArmIt(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection app = DrainTest.connect(db.url("cutover.barrier.timeout=1s"))) {
      db.flip(Target.NEW);
      assertThat(events.next().outcome()).isEqualTo(Outcome.COMPLETED);
      DrainTest.insert(app, "written on new");

      db.flip(Target.OLD);
      SwitchEvent back = events.next();

      assertThat(back.outcome()).isEqualTo(Outcome.ABORTED);
      assertThat(back.reason()).contains("from new to old is not delivering")
          .contains("arm reverse replication (cutover-replicator reverse)")
          .contains("cutover.switch.force=true");
      assertThat(back.gateWaits()).isZero();
      DrainTest.insert(app, "still on new");
      assertThat(DrainTest.sideOf(app)).isEqualTo(pair.newServer().port());
    }
  }

  /**
   * r22: switched to new, flipped back to old through the prepared way back, then flipped to new
   * again with nothing carrying old → new (the forward subscription went when the way back was
   * armed). The probe refuses, rightly; its remedy named `cutover-replicator start`, a dead end
   * once new's tables hold rows. After a flip back the replicator arms old → new again with
   * `reverse`, which the remedy now names.
   */
  @Test
  void flipToNewAgain_afterAFlipBack_withoutReplication_isRefusedNamingReverseNotStart(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    db.prepareReverse();
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection app = DrainTest.connect(db.url("cutover.barrier.timeout=3s"))) {
      db.flip(Target.NEW);
      SwitchEvent there = events.next();
      assertThat(there.outcome()).as(there.summary()).isEqualTo(Outcome.COMPLETED);
      db.armReverse();
      DrainTest.insert(app, "written on new");
      db.flip(Target.OLD);
      SwitchEvent back = events.next();
      assertThat(back.outcome()).as(back.summary()).isEqualTo(Outcome.COMPLETED);

      db.flip(Target.NEW);
      SwitchEvent again = events.next();

      assertThat(again.outcome()).as(again.summary()).isEqualTo(Outcome.ABORTED);
      assertThat(again.gateWaits()).isZero();
      assertThat(again.reason()).contains("from old to new is not delivering")
          .contains("cutover-replicator reverse")
          .contains("nothing of the replicator's carries old -> new")
          .doesNotContain("start replication (cutover-replicator start)");
      DrainTest.insert(app, "still on old");
      assertThat(DrainTest.sideOf(app)).isEqualTo(pair.oldServer().port());
    }
  }

  /**
   * r22: a sequence created on new after the switch (replication carries no schema change here)
   * and used there. The flip back completed with only a warning, "sequences missing on old", and
   * the application's next nextval on old failed with 42P01. Now the flip back is refused before
   * its gate, naming the sequence and the remedy, and tried again while the flag asks: once the
   * sequence is made on old, it completes and moves it past new's value. The sequence of an unlogged
   * table made on new alone (replication never carries one) refuses nothing.
   */
  @Test
  void flipBack_sequenceCreatedOnNewAfterTheSwitch_isRefusedBeforeTheGateNamingIt_andRetriedOnceMadeOnOld(PostgresPair pair)
      throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    db.prepareReverse();
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection app = DrainTest.connect(db.url("cutover.switch.retry-interval=1s"))) {
      db.flip(Target.NEW);
      SwitchEvent there = events.next();
      assertThat(there.outcome()).as(there.summary()).isEqualTo(Outcome.COMPLETED);
      db.armReverse();
      try (Statement s = app.createStatement()) {
        s.execute("CREATE SEQUENCE invoice_no START 5000");
        s.execute("SELECT nextval('invoice_no') FROM generate_series(1, 3)");
        // Not the application's to carry: an unlogged table's serial, which replication never carries
        s.execute("CREATE UNLOGGED TABLE scratch (id serial PRIMARY KEY)");
      }

      db.flip(Target.OLD);
      SwitchEvent back = events.next();

      assertThat(back.outcome()).as(back.summary()).isEqualTo(Outcome.ABORTED);
      assertThat(back.gateWaits()).isZero();
      assertThat(back.reason()).contains("sequence(s) public.invoice_no").contains("missing on old")
          .contains("cutover-replicator status").contains("cutover.switch.force=true").doesNotContain("scratch");
      try (Connection n = db.newDirect()) {
        assertThat(Fence.isRaised(n)).as("refused before the fence").isFalse();
      }
      assertThat(DrainTest.sideOf(app)).isEqualTo(pair.newServer().port());

      try (Connection o = db.oldDirect(); Statement s = o.createStatement()) {
        s.execute("CREATE SEQUENCE invoice_no START 5000");
      }
      SwitchEvent retried = events.next();
      while (retried.outcome() == Outcome.ABORTED && retried.reason().contains("public.invoice_no")) {
        retried = events.next(); // a retry that began before the sequence was made
      }
      assertThat(retried.outcome()).as(retried.summary()).isEqualTo(Outcome.COMPLETED);
      try (Statement s = app.createStatement(); ResultSet rs = s.executeQuery("SELECT nextval('invoice_no')")) {
        rs.next();
        assertThat(rs.getLong(1)).as("moved on old past new's 5002").isGreaterThan(5002);
      }
      assertThat(DrainTest.sideOf(app)).isEqualTo(pair.oldServer().port());
    }
  }

  @Test
  void flipBack_forced_switchesWithoutProofAndSaysSo(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection app = DrainTest.connect(db.url("cutover.switch.force=true"))) {
      db.flip(Target.NEW);
      SwitchEvent there = events.next();
      assertThat(there.outcome()).isEqualTo(Outcome.COMPLETED);
      DrainTest.insert(app, "written on new");

      db.flip(Target.OLD);
      SwitchEvent back = events.next();

      assertThat(back.outcome()).isEqualTo(Outcome.COMPLETED);
      assertThat(back.notGuaranteed()).anyMatch(s -> s.contains("cutover.switch.force=true"));
      assertThat(DrainTest.sideOf(app)).isEqualTo(pair.oldServer().port());
      try (Connection old = db.oldDirect(); Statement s = old.createStatement();
          ResultSet rs = s.executeQuery("SELECT count(*) FROM note WHERE body = 'written on new'")) {
        rs.next();
        assertThat(rs.getInt(1)).as("forced without reverse replication: the write on new stayed there").isZero();
      }
    }
  }

  /** Torture B4: the flag names the side the service does not serve (its flip back was refused); a new instance starts. */
  @Test
  void start_flagNamesTheSideTheServiceDoesNotServe_routesWhereItServes(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection first = DrainTest.connect(db.url("cutover.instance=first", "cutover.barrier.timeout=1s"))) {
      db.flip(Target.NEW);
      assertThat(events.next().outcome()).isEqualTo(Outcome.COMPLETED);
      db.flip(Target.OLD);
      assertThat(events.next().outcome()).as("no reverse replication: the flip back is refused").isEqualTo(Outcome.ABORTED);

      try (Connection late = DrainTest.connect(db.url("cutover.instance=late", "cutover.barrier.timeout=1s"))) {
        DrainTest.insert(late, "written by the late instance");
        assertThat(DrainTest.sideOf(late)).as("the unfenced side, where the service serves").isEqualTo(pair.newServer().port());
      }
    } finally {
      CutoverDriver.shutdown(db.database);
    }
  }

  /**
   * Torture B1: a client outside the driver writes on new, fenced by an earlier flip back, in a
   * loop; the switch to new creates the way back's slot before it lowers new's fence, so every row
   * that client commits on new reaches old once the way back is armed.
   */
  @Test
  void flip_outsideWriterOnAFencedNew_everyRowItCommitsThereReachesOldThroughThePreparedSlot(PostgresPair pair)
      throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    db.prepareReverse();
    try (Connection n = db.newDirect()) {
      String earlier = Coordination.begin(n, "earlier", "earlier", Target.NEW, Target.OLD);
      assertThat(Coordination.tryLead(n, "earlier", earlier)).isTrue();
      Fence.raise(n, "earlier", earlier, "test", Duration.ofSeconds(5));
    }
    Set<Integer> committed = ConcurrentHashMap.newKeySet();
    AtomicBoolean writing = new AtomicBoolean(true);
    Thread outside = new Thread(() -> {
      try (Connection n = db.newDirect(); PreparedStatement ps = n.prepareStatement("INSERT INTO note (id, body) VALUES (?, 'outside')")) {
        for (int id = 1_000_000; writing.get(); id++) {
          ps.setInt(1, id);
          try {
            ps.executeUpdate();
            committed.add(id);
          } catch (SQLException fenced) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1)); // 25006 until the switch opens new
          }
        }
      } catch (SQLException e) {
        throw new IllegalStateException(e);
      }
    }, "outside-writer");
    outside.start();
    try (SwitchEvents events = new SwitchEvents(db.database); Connection app = DrainTest.connect(db.url())) {
      db.flip(Target.NEW);
      assertThat(events.next().outcome()).isEqualTo(Outcome.COMPLETED);
      await().atMost(Duration.ofSeconds(20)).until(() -> committed.size() >= 50);
      writing.set(false);
      outside.join(TimeUnit.SECONDS.toMillis(20));

      db.armReverse();
      db.awaitReplicated();
      try (Connection old = db.oldDirect(); Statement s = old.createStatement();
          ResultSet rs = s.executeQuery("SELECT id FROM note WHERE body = 'outside'")) {
        Set<Integer> onOld = new HashSet<>();
        while (rs.next()) {
          onOld.add(rs.getInt(1));
        }
        assertThat(committed).isNotEmpty();
        assertThat(onOld).as("rows committed on new that the way back carried to old").containsAll(committed);
      }
    } finally {
      writing.set(false);
      CutoverDriver.shutdown(db.database);
    }
  }

  /**
   * The way back's slot is made on new as the switch opens it, after the release, with the
   * application held; its creation waits for every transaction holding a transaction id on new's
   * server, in any database. One prepared in another database and left there (before: the switch
   * was released, failed to open new after the barrier timeout, and left the application's writes
   * refused on the fenced old) now refuses the switch before its gate closes, naming it; once it is
   * ended the switch completes and makes the slot.
   */
  @Test
  void flip_transactionLeftOnNewsServer_isRefusedBeforeTheGateNamingItAndCompletesOnceItEnds(PostgresPair pair)
      throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    db.prepareReverse();
    String other = pair.newServer().createDatabase("other_" + db.database);
    try (Connection x = pair.newServer().connect(other); Statement s = x.createStatement();
        SwitchEvents events = new SwitchEvents(db.database);
        Connection app = DrainTest.connect(db.url("cutover.drain.timeout=1s", "cutover.barrier.timeout=3s"))) {
      s.execute("CREATE TABLE batch (id int)");
      s.execute("BEGIN; INSERT INTO batch VALUES (1); PREPARE TRANSACTION 'other-app-xa'");
      DrainTest.insert(app, "before");

      db.flip(Target.NEW);
      SwitchEvent refused = events.next();

      assertThat(refused.outcome()).isEqualTo(Outcome.ABORTED);
      assertThat(refused.reason()).contains("replication slot(s) " + db.reverseSlot() + " on the new database")
          .contains("prepared transaction 'other-app-xa' of role " + db.user() + " in database " + other)
          .contains("cutover.drain.timeout");
      assertThat(refused.gateWaits()).isZero();
      assertThat(refused.fence()).as("the fence was never tried").isZero();
      DrainTest.insert(app, "refused");
      assertThat(DrainTest.sideOf(app)).isEqualTo(pair.oldServer().port());

      s.execute("COMMIT PREPARED 'other-app-xa'");
      db.flip(Target.OLD);
      db.flip(Target.NEW);
      assertThat(events.next().outcome()).isEqualTo(Outcome.COMPLETED);
      DrainTest.insert(app, "after");
      assertThat(DrainTest.sideOf(app)).isEqualTo(pair.newServer().port());
      assertThat(slotExists(db, db.reverseSlot())).isTrue();
    } finally {
      CutoverDriver.shutdown(db.database);
    }
  }

  /**
   * A transaction that begins on new's server after the switch's check and holds on: the switch
   * gives the slot a moment, then opens new without it rather than keep the application held (before:
   * released, new never opened, writes refused on old), says so in its event and leaves the reason
   * for the replicator's reverse.
   */
  @Test
  void flip_transactionBeginsOnNewsServerInsideTheGate_opensNewWithoutTheSlotAndSaysSo(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    db.prepareReverse();
    String other = pair.newServer().createDatabase("other_" + db.database);
    try (Connection x = pair.newServer().connect(other); Statement s = x.createStatement();
        SwitchEvents events = new SwitchEvents(db.database);
        Connection app = DrainTest.connect(db.url("cutover.drain.timeout=10s"));
        Connection straggler = DrainTest.connect(db.url("cutover.drain.timeout=10s"))) {
      s.execute("CREATE TABLE batch (id int)");
      DrainTest.insert(app, "before");
      straggler.setAutoCommit(false);
      DrainTest.insert(straggler, "in flight");

      db.flip(Target.NEW);
      await().atMost(Duration.ofSeconds(10)).until(() -> (Boolean) RouterBean.attribute(db.database, "Holding"));
      s.execute("BEGIN; INSERT INTO batch VALUES (1); PREPARE TRANSACTION 'late-xa'");
      try {
        straggler.commit();
        SwitchEvent event = events.next();

        assertThat(event.outcome()).isEqualTo(Outcome.COMPLETED);
        assertThat(event.notGuaranteed()).singleElement().asString().startsWith("lossless way back (replication slot "
            + db.reverseSlot() + " not created on new: creating it waited more than 1000 ms").contains("'late-xa'");
        DrainTest.insert(app, "after");
        assertThat(DrainTest.sideOf(app)).isEqualTo(pair.newServer().port());
        assertThat(slotExists(db, db.reverseSlot())).isFalse();
        assertThat(missedAtSwitch(db)).startsWith("switch " + event.id() + " opened this database without it: creating it waited");
      } finally {
        s.execute("ROLLBACK PREPARED 'late-xa'");
      }
      try (Connection n = db.newDirect(); Statement q = n.createStatement()) {
        q.execute("SELECT cutover.request_slot_at_switch('" + db.reverseSlot() + "')");
      }
      assertThat(missedAtSwitch(db)).as("a new request clears it").isNull();
    } finally {
      CutoverDriver.shutdown(db.database);
    }
  }

  /**
   * New's control schema from before the slot step (version 2 without make_slots_at_switch): the
   * switch is refused, saying so; forced, it still makes the way back's slot as it opens new, as
   * before that step, rather than fail after its release.
   */
  @Test
  void flip_controlSchemaWithoutTheSlotStep_refusedUnlessForcedAndForcedStillMakesTheSlot(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    db.prepareReverse();
    try (Connection n = db.newDirect(); Statement s = n.createStatement()) {
      s.execute("DROP FUNCTION cutover.miss_slots_at_switch(text, text, text)");
      s.execute("DROP FUNCTION cutover.make_slots_at_switch(text, text, bigint, integer)");
      s.execute("DROP FUNCTION cutover.slots_at_switch()");
    }
    try (SwitchEvents events = new SwitchEvents(db.database); Connection app = DrainTest.connect(db.url())) {
      DrainTest.insert(app, "before");
      db.flip(Target.NEW);
      SwitchEvent refused = events.next();
      assertThat(refused.outcome()).isEqualTo(Outcome.ABORTED);
      assertThat(refused.reason()).contains("the control schema on the new database predates this driver");
      assertThat(refused.gateWaits()).isZero();
      db.flip(Target.OLD);
    } finally {
      CutoverDriver.shutdown(db.database);
    }
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection app = DrainTest.connect(db.url("cutover.switch.force=true"))) {
      DrainTest.insert(app, "forced");
      db.flip(Target.NEW);
      assertThat(events.next().outcome()).isEqualTo(Outcome.COMPLETED);
      DrainTest.insert(app, "after");
      assertThat(DrainTest.sideOf(app)).isEqualTo(pair.newServer().port());
      assertThat(slotExists(db, db.reverseSlot())).isTrue();
    } finally {
      CutoverDriver.shutdown(db.database);
    }
  }

  /** The one slot request on new: why the switch gave it up, or null. */
  private static String missedAtSwitch(Replicated db) throws SQLException {
    try (Connection n = db.newDirect(); Statement q = n.createStatement();
        ResultSet rs = q.executeQuery("SELECT missed FROM cutover.slot_at_switch")) {
      assertThat(rs.next()).as("the way back's slot request").isTrue();
      return rs.getString(1);
    }
  }

  private static boolean slotExists(Replicated db, String slot) throws SQLException {
    try (Connection n = db.newDirect(); PreparedStatement ps = n.prepareStatement("SELECT count(*) FROM pg_replication_slots"
        + " WHERE slot_name = ?")) {
      ps.setString(1, slot);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getInt(1) == 1;
      }
    }
  }
}
