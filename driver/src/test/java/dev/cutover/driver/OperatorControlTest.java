package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.cutover.driver.control.CatchUp;
import dev.cutover.driver.control.OperatorControl;
import dev.cutover.driver.control.SwitchState;
import dev.cutover.driver.internal.control.ControlSql;
import dev.cutover.driver.internal.control.Coordination;
import dev.cutover.driver.internal.control.Fence;
import dev.cutover.driver.Outcome;
import dev.cutover.driver.SwitchEvent;
import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresPair;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** What an operator sees of a switch and does to it, through the control schema alone. */
@LeakCheckedPair
class OperatorControlTest {
  private static final String SCHEMA = "CREATE TABLE note (id serial PRIMARY KEY, body text NOT NULL)";

  @Test
  void instanceViewStep_phaseTextOfEachStepOrUnknown_namesTheStepOrNone() {
    assertThat(view("connecting to the new database").step()).contains(Phase.CONNECT);
    assertThat(view("idle").step()).contains(Phase.IDLE);
    assertThat(view("waiting for the barrier").step()).contains(Phase.BARRIER);
    assertThat(view("juggling old").step()).as("a step of another driver version").isEmpty();
  }

  private static OperatorControl.InstanceView view(String phase) {
    return new OperatorControl.InstanceView("i-1", Duration.ZERO, "old", "old", phase, null);
  }

  @Test
  void abort_whileTheLeaderFences_theLeaderAbortsLowersTheFenceAndTheViewShowedItAll(PostgresPair pair)
      throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection app = DrainTest.connect(db.url("cutover.instance=op-1", "cutover.drain.timeout=20s"));
        Connection operator = db.oldDirect();
        Connection outsideWriter = db.oldDirect()) {
      await().atMost(Duration.ofSeconds(10)).until(() -> OperatorControl.read(operator, db.database).instances().size() == 1);
      outsideWriter.setAutoCommit(false);
      try (Statement s = outsideWriter.createStatement()) {
        s.executeUpdate("INSERT INTO note (body) VALUES ('outside the driver')"); // holds the raise
      }
      db.flip(Target.NEW);
      await().atMost(Duration.ofSeconds(20)).until(() -> {
        OperatorControl.ServiceView v = OperatorControl.read(operator, db.database);
        return v.fenceRaised() && v.instances().get(0).phase().equals("fencing old");
      });

      OperatorControl.ServiceView view = OperatorControl.read(operator, db.database);
      assertThat(view.instances()).singleElement().satisfies(i -> {
        assertThat(i.instance()).as("cutover.instance and its router's suffix").matches("op-1#[0-9a-f]+");
        assertThat(i.serving()).isEqualTo("old");
        assertThat(i.flagTarget()).isEqualTo("new");
        assertThat(i.heartbeatAge()).isLessThan(Duration.ofSeconds(5));
        assertThat(i.step()).contains(Phase.FENCE);
      });
      assertThat(view.lastSwitch()).get().satisfies(s -> {
        assertThat(s.state()).isEqualTo(SwitchState.DRAINING);
        assertThat(s.source()).isEqualTo("old");
        assertThat(s.target()).isEqualTo("new");
      });

      assertThat(OperatorControl.abort(operator, db.database, "change freeze"))
          .isEqualTo(OperatorControl.AbortOutcome.REQUESTED);
      outsideWriter.commit();
      SwitchEvent event = events.next();

      assertThat(event.outcome()).isEqualTo(Outcome.ABORTED);
      assertThat(event.reason()).contains("aborted on request").contains("change freeze");
      assertThat(OperatorControl.fenceRaised(operator)).isFalse();
      assertThat(OperatorControl.read(operator, db.database).lastSwitch()).get().satisfies(s -> {
        assertThat(s.state()).isEqualTo(SwitchState.ABORTED);
        assertThat(s.reason()).isEqualTo("change freeze");
        assertThat(s.leader()).matches("op-1#[0-9a-f]+");
      });
      DrainTest.insert(app, "still on old");
      assertThat(DrainTest.sideOf(app)).isEqualTo(pair.oldServer().port());
    } finally {
      CutoverDriver.shutdown(db.database);
    }
  }

  /**
   * Forced, a switch goes without the replication proof and says so in its event; that line was
   * logged at INFO like any completed switch, where writes left behind deserve a WARN (r15).
   */
  @Test
  void force_setByTheOperator_isReadAtTheNextSwitchWithoutARedeployAndLoggedAtWarn(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (LogCapture logs = new LogCapture(); SwitchEvents events = new SwitchEvents(db.database);
        Connection app = DrainTest.connect(db.url("cutover.barrier.timeout=1s"));
        Connection admin = db.oldDirect()) {
      DrainTest.insert(app, "before");
      db.awaitReplicated();
      db.stopForward(); // the probe would refuse the switch
      OperatorControl.setForce(admin, db.database, true);

      db.flip(Target.NEW);
      SwitchEvent event = events.next();

      assertThat(event.outcome()).as(event.summary()).isEqualTo(Outcome.COMPLETED);
      assertThat(event.notGuaranteed()).anyMatch(s -> s.contains("forced by an operator"));
      assertThat(logs.lines(ch.qos.logback.classic.Level.WARN)).as("logged at WARN")
          .anyMatch(l -> l.contains(event.id()) && l.contains("completed") && l.contains("forced by an operator"));
      assertThat(logs.lines(ch.qos.logback.classic.Level.INFO)).noneMatch(l -> l.contains(event.id()) && l.contains("completed"));
      assertThat(OperatorControl.fenceRaised(admin)).as("force skips the barrier, never the fence").isTrue();
      DrainTest.insert(app, "after");
      assertThat(DrainTest.sideOf(app)).isEqualTo(pair.newServer().port());
      db.startForward();
    } finally {
      CutoverDriver.shutdown(db.database);
    }
  }

  /**
   * The release is the point of no return: an abort asked for while the leader opens new (new
   * slow to answer) must not lower old's fence once new is open. Before the release came first,
   * the leader opened new, its release was then refused and its abort lowered old's fence too:
   * both databases took writes (I2; found by the torture smoke run in CI).
   */
  @Test
  void abort_askedWhileTheLeaderOpensNew_neverLeavesBothDatabasesOpen(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection app = DrainTest.connect(db.url("cutover.instance=op-3"));
        Connection operator = db.oldDirect();
        Connection newSide = db.newDirect();
        Connection holdsNewsFence = db.newDirect()) {
      DrainTest.insert(app, "before");
      holdsNewsFence.setAutoCommit(false);
      try (Statement s = holdsNewsFence.createStatement()) {
        s.execute("LOCK TABLE " + ControlSql.FENCE_LOCK + " IN EXCLUSIVE MODE");
      }
      db.flip(Target.NEW);
      await().atMost(Duration.ofSeconds(20)).until(() -> waitsForTheFenceLock(newSide));

      OperatorControl.AbortOutcome asked = OperatorControl.abort(operator, db.database, "change freeze");
      holdsNewsFence.rollback();
      SwitchEvent event = events.next();

      assertThat(OperatorControl.fenceRaised(operator)).as("exactly one side open").isNotEqualTo(OperatorControl.fenceRaised(newSide));
      assertThat(asked).as("asked after the release").isEqualTo(OperatorControl.AbortOutcome.NONE);
      assertThat(event.outcome()).as(event.summary()).isEqualTo(Outcome.COMPLETED);
      assertThat(OperatorControl.fenceRaised(operator)).isTrue();
      DrainTest.insert(app, "after");
      assertThat(DrainTest.sideOf(app)).isEqualTo(pair.newServer().port());
    } finally {
      CutoverDriver.shutdown(db.database);
    }
  }

  @Test
  void lowerFence_fenceALeaderRaised_isLoweredAndWritesPassAgain(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (Connection leader = db.oldDirect(); Connection installer = db.oldDirect()) {
      String id = Coordination.begin(leader, db.database, "stuck", Target.OLD, Target.NEW);
      assertThat(Coordination.tryLead(leader, db.database, id)).isTrue();
      assertThat(OperatorControl.fenceRaised(installer)).isFalse();
      Fence.raise(leader, db.database, id, "test", Duration.ofSeconds(5));
      assertThat(OperatorControl.fenceRaised(installer)).isTrue();
      assertThatThrownBy(() -> insert(installer, "fenced")).isInstanceOf(SQLException.class);

      OperatorControl.lowerFence(installer);

      assertThat(OperatorControl.fenceRaised(installer)).isFalse();
      insert(installer, "after the installer lowered the fence");
    }
  }

  @Test
  void catchUp_replicationRunningThenStopped_arrivesThenNot(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (Connection o = db.oldDirect(); Connection n = db.newDirect()) {
      assertThat(CatchUp.await(o, n, Duration.ofSeconds(30))).isTrue();
      db.stopForward();
      await().atMost(Duration.ofSeconds(20)).until(() -> applyWorkers(n) == 0);

      assertThat(CatchUp.await(o, n, Duration.ofMillis(300))).isFalse();
      db.startForward();
      assertThat(CatchUp.await(o, n, Duration.ofSeconds(30))).as("the probe written while stopped arrives too").isTrue();
    }
  }

  /** Whether a session on {@code c}'s database waits for the fence's lock (a switch opening it). */
  private static boolean waitsForTheFenceLock(Connection c) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT EXISTS (SELECT 1 FROM pg_locks"
        + " WHERE locktype = 'relation' AND NOT granted AND relation = '" + ControlSql.FENCE_LOCK + "'::regclass)")) {
      rs.next();
      return rs.getBoolean(1);
    }
  }

  private static void insert(Connection c, String body) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.executeUpdate("INSERT INTO note (body) VALUES ('" + body + "')");
    }
  }

  /** Apply workers running for the subscriptions of {@code c}'s database. */
  private static int applyWorkers(Connection c) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_stat_subscription w"
        + " JOIN pg_subscription p ON p.oid = w.subid WHERE w.pid IS NOT NULL"
        + " AND p.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())")) {
      rs.next();
      return rs.getInt(1);
    }
  }
}
