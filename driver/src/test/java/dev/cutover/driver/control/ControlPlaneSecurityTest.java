package dev.cutover.driver.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.cutover.driver.LeakCheckedPair;
import dev.cutover.driver.internal.control.Barrier;
import dev.cutover.driver.internal.control.ControlSql;
import dev.cutover.driver.internal.control.Coordination;
import dev.cutover.driver.internal.control.Fence;
import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresServer;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Who may do what to the control plane, in SQL, on one database: a role with only CONNECT and table
 * grants ("intruder") may execute nothing of it; a role granted the control plane ("member") may
 * steer a switch only as its leader, and may never release one without a real fence and barrier.
 */
@LeakCheckedPair
class ControlPlaneSecurityTest {
  private static final String SCHEMA = "CREATE TABLE a (id int PRIMARY KEY); GRANT SELECT, INSERT, UPDATE, DELETE"
      + " ON a TO intruder_cp, member_cp";
  private static final AtomicInteger DATABASES = new AtomicInteger();
  private static final org.postgresql.Driver PG = new org.postgresql.Driver();

  @BeforeAll
  static void roles(PostgresPair pair) throws SQLException {
    try (Connection c = pair.oldServer().connect(); Statement s = c.createStatement()) {
      for (String role : new String[] {"intruder_cp", "member_cp", "owner_cp", "other_cp", "ops_cp"}) {
        s.execute("DO $$ BEGIN CREATE ROLE " + role + " LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
      }
    }
  }

  /** A fresh database with table {@code a} and the control schema, granted to {@code member_cp} and postgres. */
  private static String database(PostgresServer server) throws SQLException {
    String name = "cp" + DATABASES.incrementAndGet();
    server.createDatabase(name);
    try (Connection c = server.connect(name); Statement s = c.createStatement()) {
      s.execute(SCHEMA);
      ControlSchema.install(c, List.of("member_cp", server.user()));
    }
    return name;
  }

  static Connection as(PostgresServer server, String database, String role) throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", role);
    return PG.connect(server.jdbcUrl(database), p);
  }

  private static SQLException fails(Connection c, String sql) {
    SQLException e = catchThrowableOfType(SQLException.class, () -> {
      try (Statement s = c.createStatement()) {
        s.execute(sql);
      }
    });
    assertThat((Throwable) e).as("%s should be refused", sql).isNotNull();
    return e;
  }

  private static String string(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getString(1);
    }
  }

  @Test
  void outsider_mayExecuteNoFunctionNorTouchAnyTableOfTheControlSchema(PostgresPair pair) throws Exception {
    String db = database(pair.oldServer());
    try (Connection admin = pair.oldServer().connect(db); Connection intruder = as(pair.oldServer(), db, "intruder_cp")) {
      assertThat(string(admin, "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
          + " WHERE n.nspname = 'cutover' AND has_function_privilege('intruder_cp', p.oid, 'EXECUTE')")).isEqualTo("0");
      assertThat(string(admin, "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
          + " WHERE n.nspname = 'cutover' AND has_function_privilege('public', p.oid, 'EXECUTE')")).isEqualTo("0");
      List<String> attacks = Attacks.OUTSIDER.stream().map(a -> a.replace("'intruder'", "'intruder_cp'")).toList();
      for (String attack : attacks) {
        assertThat(fails(intruder, attack).getSQLState()).as(attack).isEqualTo("42501");
      }
      // Around the control plane: the fence itself cannot be bypassed either.
      assertThat(fails(intruder, "ALTER TABLE a DISABLE TRIGGER cutover_fence").getSQLState()).isEqualTo("42501");
      assertThat(fails(intruder, "DROP TRIGGER cutover_fence ON a").getSQLState()).isEqualTo("42501");
    }
  }

  @Test
  void installerOnlyFunctions_areNotGrantedToTheControlPlaneRoles(PostgresPair pair) throws Exception {
    String db = database(pair.oldServer());
    try (Connection admin = pair.oldServer().connect(db)) {
      for (String f : ControlSql.INSTALLER_ONLY) {
        assertThat(string(admin, "SELECT has_function_privilege('member_cp', 'cutover." + f + "', 'EXECUTE')"))
            .as(f).isEqualTo("f");
      }
      for (String f : ControlSql.GRANTED) {
        assertThat(string(admin, "SELECT has_function_privilege('member_cp', 'cutover." + f + "', 'EXECUTE')"))
            .as(f).isEqualTo("t");
      }
    }
  }

  /**
   * Why an instance cannot get ready (which makes its peers refuse the switch before their gates
   * close) is taken only for the switch in progress it names, only into that instance's row, never
   * once it drained for it (its gate closed), and at most 1000 characters of it; a schema without
   * the functions (installed before them) reads as no peer having said anything.
   */
  @Test
  void notReady_onlyForTheSwitchInProgressAndAnUndrainedInstance_boundedInLength(PostgresPair pair) throws Exception {
    String db = database(pair.oldServer());
    Duration ttl = Duration.ofSeconds(30);
    try (Connection member = as(pair.oldServer(), db, "member_cp")) {
      for (String instance : List.of("a", "b")) {
        Coordination.heartbeat(member, "svc", instance, new Coordination.Beat(Target.NEW, Target.OLD, "idle"), ttl);
      }
      assertThat(Coordination.notReady(member, "svc", "a", "s0", "no switch")).as("no switch in progress").isFalse();
      String id = Coordination.begin(member, "svc", "s1", Target.OLD, Target.NEW);
      assertThat(Coordination.notReady(member, "svc", "a", "other", "x")).as("another switch's id").isFalse();
      assertThat(Coordination.notReady(member, "svc", "ghost", id, "x")).as("no such instance").isFalse();
      Coordination.drained(member, "svc", "b", id);
      assertThat(Coordination.notReady(member, "svc", "b", id, "x")).as("drained for it").isFalse();
      assertThat(Coordination.notReady(member, "svc", "a", id, "y".repeat(5000))).isTrue();

      assertThat(Coordination.notReadyPeers(member, "svc", id, ttl).orElseThrow()).singleElement().satisfies(p -> {
        assertThat(p.instance()).isEqualTo("a");
        assertThat(p.reason()).hasSize(1000);
      });
      assertThat(Coordination.notReadyPeers(member, "svc", "other", ttl).orElseThrow()).isEmpty();
      assertThat(Coordination.notReadyPeers(member, "other", id, ttl).orElseThrow()).isEmpty();
      Coordination.abort(member, "svc", id, "ended");
      assertThat(Coordination.notReady(member, "svc", "a", id, "x")).as("ended").isFalse();
    }
    try (Connection admin = pair.oldServer().connect(db); Statement s = admin.createStatement()) {
      s.execute("DROP FUNCTION cutover.not_ready(text, text, text, text)");
      s.execute("DROP FUNCTION cutover.not_ready_peers(text, text, integer)");
      String id = Coordination.begin(admin, "svc", "s2", Target.OLD, Target.NEW);
      assertThat(Coordination.notReady(admin, "svc", "a", id, "x")).isFalse();
      assertThat(Coordination.notReadyPeers(admin, "svc", id, ttl)).as("cannot say").isEmpty();
    }
  }

  @Test
  void member_withoutTheLeadersLock_canNeitherFenceNorWriteTheBarrierNorRelease(PostgresPair pair) throws Exception {
    String db = database(pair.oldServer());
    try (Connection member = as(pair.oldServer(), db, "member_cp")) {
      String id = Coordination.begin(member, "svc", "s1", Target.OLD, Target.NEW);
      for (String step : List.of(
          "SELECT cutover.raise_fence('svc', '" + id + "', 'm', 100)",
          "SELECT cutover.write_barrier('svc', '" + id + "')",
          "SELECT cutover.release_switch('svc', '" + id + "', 'probe:x', 'm', 0)",
          "SELECT cutover.open_target('svc', '" + id + "', 0)")) {
        SQLException e = fails(member, step);
        assertThat(e.getSQLState()).as(step).isEqualTo("42501");
        assertThat(e.getMessage()).contains("does not lead");
      }
      assertThat(Fence.isRaised(member)).isFalse();
    }
  }

  @Test
  void member_leading_cannotReleaseWithoutAFenceAndABarrierWrittenUnderIt(PostgresPair pair) throws Exception {
    String db = database(pair.oldServer());
    try (Connection member = as(pair.oldServer(), db, "member_cp")) {
      String id = Coordination.begin(member, "svc", "s2", Target.OLD, Target.NEW);
      assertThat(Coordination.tryLead(member, "svc", id)).isTrue();
      String probe = Barrier.write(member);
      assertThat(fails(member, "SELECT cutover.write_barrier('svc', '" + id + "')").getMessage())
          .contains("only while the fence it raised stands");
      assertThat(fails(member, "SELECT cutover.release_switch('svc', '" + id + "', '" + probe + "', 'm', 0)")
          .getSQLState()).isEqualTo("55000");

      long epoch = Fence.raise(member, "svc", id, "test", Duration.ofSeconds(5));
      assertThat(epoch % 2).isEqualTo(1);
      assertThat(fails(member, "SELECT cutover.release_switch('svc', '" + id + "', '" + probe + "', 'm', 0)")
          .getMessage()).contains("barrier marker written on this database under the fence");
      assertThat(Coordination.decision(member, "svc")).get().extracting(Coordination.Decision::state)
          .isEqualTo(SwitchState.DRAINING);

      String marker = Barrier.writeForSwitch(member, "svc", id);
      Coordination.release(member, "svc", id, marker, "m", 0);
      assertThat(Coordination.verifyRelease(member, "svc", id).marker()).isEqualTo(marker);
      assertThat(Coordination.abort(member, "svc", id, "too late")).as("a released switch stays released")
          .isEqualTo(Coordination.Ended.RELEASED);
      assertThat(Fence.isRaised(member)).isTrue();
    }
  }

  @Test
  void releaseForgedInTheTables_failsTheFollowersVerification(PostgresPair pair) throws Exception {
    String db = database(pair.oldServer());
    try (Connection admin = pair.oldServer().connect(db); Connection member = as(pair.oldServer(), db, "member_cp")) {
      String id = Coordination.begin(member, "svc", "s3", Target.OLD, Target.NEW);
      String probe = Barrier.write(member);
      // As if the server-side checks had been bypassed: a released decision with a marker that exists.
      try (Statement s = admin.createStatement()) {
        s.execute("UPDATE cutover.switch SET state = 'released', marker = '" + probe + "' WHERE id = '" + id + "'");
      }
      assertThat(Coordination.verifyRelease(member, "svc", id).problem()).contains("fence");
      try (Statement s = admin.createStatement()) {
        s.execute("UPDATE cutover.switch SET state = 'draining', marker = NULL WHERE id = '" + id + "'");
      }
      assertThat(Coordination.tryLead(member, "svc", id)).isTrue();
      Fence.raise(member, "svc", id, "test", Duration.ofSeconds(5));
      try (Statement s = admin.createStatement()) {
        s.execute("UPDATE cutover.switch SET state = 'released', marker = '" + probe + "' WHERE id = '" + id + "'");
      }
      assertThat(Coordination.verifyRelease(member, "svc", id).problem()).contains("not written on this database");
      Fence.lower(admin);
    }
  }

  @Test
  void fenceLoweredAndRaisedAgain_isNotTheFenceTheReleaseWasWrittenUnder(PostgresPair pair) throws Exception {
    String db = database(pair.oldServer());
    try (Connection admin = pair.oldServer().connect(db); Connection member = as(pair.oldServer(), db, "member_cp")) {
      String id = Coordination.begin(member, "svc", "s4", Target.OLD, Target.NEW);
      assertThat(Coordination.tryLead(member, "svc", id)).isTrue();
      long first = Fence.raise(member, "svc", id, "test", Duration.ofSeconds(5));
      Coordination.release(member, "svc", id, Barrier.writeForSwitch(member, "svc", id), "m", 0);
      Fence.lower(admin);
      try (Statement s = admin.createStatement()) {
        s.execute("SELECT setval('cutover.fence_epoch', " + (first + 2) + ", true)");
      }
      assertThat(Fence.isRaised(member)).isTrue();
      assertThat(Coordination.verifyRelease(member, "svc", id).problem()).contains("does not stand");
    }
  }

  @Test
  void openTarget_byALateFollowerAfterALaterSwitchFencedItAgain_isRefusedAndTheFenceStays(PostgresPair pair)
      throws Exception {
    String db = database(pair.oldServer());
    try (Connection member = as(pair.oldServer(), db, "member_cp")) {
      // This database as the target of switch "back", fenced by an earlier switch away from it.
      String away = Coordination.begin(member, "a", "s6", Target.OLD, Target.NEW);
      assertThat(Coordination.tryLead(member, "a", away)).isTrue();
      long released = Fence.raise(member, "a", away, "test", Duration.ofSeconds(5));
      assertThat(Coordination.targetEpoch(member, "b")).isEqualTo(released);

      assertThat(Coordination.openTarget(member, "b", "back", released, Duration.ofSeconds(1)).map(Coordination.Opened::slots)).hasValue(0);
      assertThat(Fence.isRaised(member)).isFalse();
      assertThat(Coordination.openTarget(member, "b", "back", released, Duration.ofSeconds(1)).map(Coordination.Opened::slots)).as("idempotent").hasValue(0);

      // A later switch leaves this database again; a follower of "back" that comes late must not reopen it.
      String again = Coordination.begin(member, "c", "s7", Target.OLD, Target.NEW);
      assertThat(Coordination.tryLead(member, "c", again)).isTrue();
      assertThat(Fence.raise(member, "c", again, "test", Duration.ofSeconds(5))).isEqualTo(released + 2);
      SQLException stale = catchThrowableOfType(SQLException.class,
          () -> Coordination.openTarget(member, "b", "back", released, Duration.ofSeconds(1)));
      assertThat(stale.getSQLState()).isEqualTo("55000");
      assertThat(stale.getMessage()).contains("not the one the switch was released with");
      assertThat(Fence.isRaised(member)).isTrue();
    }
  }

  @Test
  void leadersLockSquattedByAnOutsider_doesNotStopTheLeader(PostgresPair pair) throws Exception {
    String db = database(pair.oldServer());
    try (Connection intruder = as(pair.oldServer(), db, "intruder_cp");
        Connection member = as(pair.oldServer(), db, "member_cp")) {
      // The intruder takes every key it can guess: the class with the service's hash, and the version-1 key.
      try (Statement s = intruder.createStatement()) {
        s.execute("SELECT pg_advisory_lock(" + ControlSql.LEADER_LOCK + ", hashtext('svc'))");
        s.execute("SELECT pg_advisory_lock(" + ControlSql.LEADER_LOCK + ", hashtext('s5'))");
      }
      String id = Coordination.begin(member, "svc", "s5", Target.OLD, Target.NEW);
      assertThat(Coordination.tryLead(member, "svc", id)).isTrue();
      assertThat(Fence.raise(member, "svc", id, "test", Duration.ofSeconds(5)) % 2).isEqualTo(1);
      assertThat(Coordination.abort(member, "svc", id, "done")).isEqualTo(Coordination.Ended.ABORTED);
      assertThat(Fence.isRaised(member)).isFalse();
    }
  }

  @Test
  void leadersKeyReadFromPgLocksAndSquatted_whenTheLeadersSessionDies_aSuccessorLeadsAndTheViewNeverNamesTheSquatter(
      PostgresPair pair) throws Exception {
    String db = database(pair.oldServer());
    ExecutorService squat = Executors.newSingleThreadExecutor();
    try (Connection admin = pair.oldServer().connect(db); Connection intruder = as(pair.oldServer(), db, "intruder_cp");
        Connection ops = as(pair.oldServer(), db, "member_cp");
        Connection successor = as(pair.oldServer(), db, "member_cp")) {
      Connection first = as(pair.oldServer(), db, "member_cp");
      String id = Coordination.begin(first, "svc", "s9", Target.OLD, Target.NEW);
      assertThat(Coordination.tryLead(first, "svc", id)).isTrue();
      Fence.raise(first, "svc", id, "first", Duration.ofSeconds(5));
      // As the reviewer did: the intruder (CONNECT only) reads the held key from pg_locks and queues on it.
      long key = Long.parseLong(string(intruder, "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory'"
          + " AND granted AND classid = " + ControlSql.LEADER_LOCK + "::oid AND objsubid = 2"));
      int intruderPid = Integer.parseInt(string(intruder, "SELECT pg_backend_pid()"));
      Future<?> squatting = squat.submit(() -> {
        try (Statement s = intruder.createStatement()) {
          s.execute("SELECT pg_advisory_lock(" + ControlSql.LEADER_LOCK + ", " + (int) key + ")");
        }
        return null;
      });
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> string(admin,
          "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND pid = " + intruderPid).equals("1"));
      first.close(); // the leader's session dies; the squatter gets the key
      squatting.get(10, TimeUnit.SECONDS);

      assertThat(OperatorControl.read(ops, "svc").lastSwitch().orElseThrow().leaderBackend())
          .as("the squatter is no leader").isEmpty();
      assertThat(string(ops, "SELECT cutover.switch_leader_pid('svc')")).as("switch_leader_pid").isNull();
      assertThat(Coordination.tryLead(successor, "svc", id)).as("a successor takes over from a squatter").isTrue();
      int successorPid = Integer.parseInt(string(successor, "SELECT pg_backend_pid()"));
      assertThat(OperatorControl.read(ops, "svc").lastSwitch().orElseThrow().leaderBackend().orElseThrow().pid())
          .isEqualTo(successorPid);
      assertThat(Coordination.tryLead(ops, "svc", id)).as("a live leader keeps the lead").isFalse();
      Fence.raise(successor, "svc", id, "successor", Duration.ofSeconds(5));
      String marker = Barrier.writeForSwitch(successor, "svc", id);
      Coordination.release(successor, "svc", id, marker, "successor", 0);
      assertThat(Coordination.verifyRelease(ops, "svc", id).marker()).isEqualTo(marker);
      // The squatter, still holding the old key, is refused every step as before.
      assertThat(fails(intruder, "SELECT cutover.open_target('svc', '" + id + "', 0)").getSQLState()).isEqualTo("42501");
    } finally {
      squat.shutdownNow();
    }
  }

  @Test
  void markers_areMadeByTheServer_uniqueByKind_andOldOnesAreTrimmed(PostgresPair pair) throws Exception {
    String db = database(pair.oldServer());
    try (Connection admin = pair.oldServer().connect(db); Connection member = as(pair.oldServer(), db, "member_cp")) {
      try (Statement s = admin.createStatement()) {
        s.execute("INSERT INTO cutover.barrier VALUES ('probe:ancient', clock_timestamp() - interval '2 days')");
      }
      List<String> markers = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        markers.add(Barrier.write(member));
      }
      assertThat(markers).doesNotHaveDuplicates().allMatch(m -> m.startsWith("probe:") && m.length() > 30);
      assertThat(string(admin, "SELECT count(*) FROM cutover.barrier WHERE marker = 'probe:ancient'")).isEqualTo("0");
    }
  }

  @Test
  void operatorAbort_withoutALeader_abortsAndLowersTheFenceTheSwitchRaised(PostgresPair pair) throws Exception {
    String db = database(pair.oldServer());
    try (Connection member = as(pair.oldServer(), db, "member_cp");
        Connection operator = as(pair.oldServer(), db, "member_cp")) {
      String id = Coordination.begin(member, "svc", "s6", Target.OLD, Target.NEW);
      assertThat(Coordination.tryLead(member, "svc", id)).isTrue();
      Fence.raise(member, "svc", id, "test", Duration.ofSeconds(5));

      assertThat(OperatorControl.abort(operator, "svc", "change freeze")).isEqualTo(OperatorControl.AbortOutcome.REQUESTED);
      assertThat(fails(member, "SELECT cutover.write_barrier('svc', '" + id + "')").getMessage())
          .contains("change freeze");
      Coordination.resign(member, "svc", id);

      assertThat(OperatorControl.abort(operator, "svc", "change freeze")).isEqualTo(OperatorControl.AbortOutcome.ABORTED);
      assertThat(Fence.isRaised(operator)).isFalse();
      OperatorControl.ServiceView view = OperatorControl.read(operator, "svc");
      assertThat(view.lastSwitch()).get().satisfies(s -> {
        assertThat(s.state()).isEqualTo(SwitchState.ABORTED);
        assertThat(s.reason()).isEqualTo("change freeze");
      });
      assertThat(OperatorControl.abort(operator, "svc", "again")).isEqualTo(OperatorControl.AbortOutcome.NONE);
    }
  }

  /**
   * r23: a leader stalled behind its fence (its instance no longer heartbeats, its session alive)
   * kept the switch from being aborted, and switch-abort said "requested" while nothing would act.
   * Its session is ended, and the switch aborted, by a role that may end that backend; never while
   * the leader's instance is live, never by a role outside the control plane, and a control-plane
   * role that may not end it is told so (LEADER_STALLED), the session left alone.
   */
  @Test
  void operatorAbort_leaderStalledBehindItsFence_endsItsSession_neverALiveLeaderNorForAnotherRole(PostgresPair pair)
      throws Exception {
    String db = database(pair.oldServer());
    try (Connection admin = pair.oldServer().connect(db);
        Connection member = as(pair.oldServer(), db, "member_cp");
        Connection operator = as(pair.oldServer(), db, "member_cp");
        Connection other = as(pair.oldServer(), db, "other_cp");
        Connection intruder = as(pair.oldServer(), db, "intruder_cp")) {
      try (Statement s = admin.createStatement()) {
        s.execute("SELECT cutover.grant_control_plane('other_cp')");
        s.execute("INSERT INTO cutover.instance (service, instance) VALUES ('svc', 'i0')");
      }
      String id = Coordination.begin(member, "svc", "s7", Target.OLD, Target.NEW);
      assertThat(Coordination.tryLead(member, "svc", id)).isTrue();
      Fence.raise(member, "svc", id, "i0", Duration.ofSeconds(5));
      int leaderPid = Integer.parseInt(string(member, "SELECT pg_backend_pid()"));

      // Live: the leader decides.
      assertThat(OperatorControl.stalledLeader(operator, "svc")).isEmpty();
      assertThat(OperatorControl.abort(operator, "svc", "freeze")).isEqualTo(OperatorControl.AbortOutcome.REQUESTED);
      assertThat(string(member, "SELECT 1")).as("a live leader's session is never ended").isEqualTo("1");
      assertThat(fails(intruder, "SELECT * FROM cutover.end_stalled_leader('svc')").getSQLState()).isEqualTo("42501");

      try (Statement s = admin.createStatement()) {
        s.execute("UPDATE cutover.instance SET heartbeat_at = clock_timestamp() - interval '1 minute'");
      }
      assertThat(fails(intruder, "SELECT * FROM cutover.end_stalled_leader('svc')").getSQLState())
          .as("a role outside the control plane").isEqualTo("42501");
      assertThat(OperatorControl.stalledLeader(operator, "svc")).get().satisfies(l -> {
        assertThat(l.pid()).isEqualTo(leaderPid);
        assertThat(l.instance()).isEqualTo("i0");
        assertThat(l.heartbeatAge()).isGreaterThan(Duration.ofSeconds(50));
      });
      assertThat(OperatorControl.abort(other, "svc", "freeze")).as("a role that may not end member_cp's backend")
          .isEqualTo(OperatorControl.AbortOutcome.LEADER_STALLED);
      assertThat(string(member, "SELECT 1")).isEqualTo("1");
      assertThat(Fence.isRaised(operator)).isTrue();

      assertThat(OperatorControl.abort(operator, "svc", "freeze")).isEqualTo(OperatorControl.AbortOutcome.LEADER_ENDED);
      assertThat(Fence.isRaised(operator)).isFalse();
      assertThat(OperatorControl.read(operator, "svc").lastSwitch()).get()
          .satisfies(s -> assertThat(s.state()).isEqualTo(SwitchState.ABORTED));
      assertThat((Throwable) fails(member, "SELECT 1")).as("the stalled leader's session is gone").isNotNull();
    }
  }

  /**
   * A leader that stalls after it took the lead and before its fence is named too (leading), and
   * only the session holding the lock may name itself leader.
   */
  @Test
  void stalledLeader_beforeItsFence_isNamedByLeading_whichOnlyTheLockHolderMayCall(PostgresPair pair) throws Exception {
    String db = database(pair.oldServer());
    try (Connection admin = pair.oldServer().connect(db);
        Connection member = as(pair.oldServer(), db, "member_cp");
        Connection operator = as(pair.oldServer(), db, "member_cp")) {
      try (Statement s = admin.createStatement()) {
        s.execute("INSERT INTO cutover.instance (service, instance, heartbeat_at)"
            + " VALUES ('svc', 'i0', clock_timestamp() - interval '1 minute')");
      }
      String id = Coordination.begin(member, "svc", "s8", Target.OLD, Target.NEW);
      assertThat(Coordination.tryLead(member, "svc", id)).isTrue();
      assertThat(fails(operator, "SELECT cutover.leading('svc', '" + id + "', 'i0')").getSQLState())
          .as("a session that does not hold the lock").isEqualTo("42501");
      assertThat(OperatorControl.stalledLeader(operator, "svc")).as("not named yet").isEmpty();
      Coordination.leading(member, "svc", id, "i0");
      assertThat(OperatorControl.stalledLeader(operator, "svc")).get()
          .satisfies(l -> assertThat(l.instance()).isEqualTo("i0"));
      assertThat(OperatorControl.abort(operator, "svc", "freeze")).isEqualTo(OperatorControl.AbortOutcome.LEADER_ENDED);
      assertThat(Fence.isRaised(operator)).isFalse();
    }
  }

  @Test
  void operatorView_switchLed_listsTheServiceAndTheLeadersBackend_clientAddressOnlyForWhoMaySeeIt(PostgresPair pair)
      throws Exception {
    String db = database(pair.oldServer());
    try (Connection admin = pair.oldServer().connect(db); Connection member = as(pair.oldServer(), db, "member_cp");
        Connection ops = as(pair.oldServer(), db, "ops_cp"); Connection intruder = as(pair.oldServer(), db, "intruder_cp")) {
      try (Statement s = admin.createStatement()) {
        s.execute("SELECT cutover.grant_control_plane('ops_cp')");
      }
      String id = Coordination.begin(member, "svc", "s8", Target.OLD, Target.NEW);
      assertThat(OperatorControl.read(ops, "svc").lastSwitch()).get()
          .satisfies(s -> assertThat(s.leaderBackend()).as("nobody leads yet").isEmpty());
      assertThat(Coordination.tryLead(member, "svc", id)).isTrue();
      int leader = Integer.parseInt(string(member, "SELECT pg_backend_pid()"));

      assertThat(OperatorControl.services(ops)).containsExactly("svc");
      OperatorControl.LeaderBackend seenByOps = OperatorControl.read(ops, "svc").lastSwitch().orElseThrow()
          .leaderBackend().orElseThrow();
      assertThat(seenByOps.pid()).isEqualTo(leader);
      assertThat(seenByOps.clientAddress()).as("another role's backend: its address is hidden").isNull();
      assertThat(OperatorControl.read(admin, "svc").lastSwitch().orElseThrow().leaderBackend().orElseThrow().clientAddress())
          .as("a superuser sees where the leader connects from").isNotNull();
      assertThat(fails(intruder, "SELECT * FROM cutover.switch_leader('svc')").getSQLState()).isEqualTo("42501");

      Coordination.resign(member, "svc", id);
      assertThat(OperatorControl.read(ops, "svc").lastSwitch().orElseThrow().leaderBackend()).isEmpty();
    }
  }

  @Test
  void force_isSetByTheInstallerOnly_andReadByTheControlPlane(PostgresPair pair) throws Exception {
    String db = database(pair.oldServer());
    try (Connection admin = pair.oldServer().connect(db); Connection member = as(pair.oldServer(), db, "member_cp")) {
      assertThat(fails(member, "SELECT cutover.set_force('svc', true)").getSQLState()).isEqualTo("42501");
      OperatorControl.setForce(admin, "svc", true);
      assertThat(Coordination.forced(member, "svc")).isTrue();
      assertThat(OperatorControl.read(member, "svc").forced()).isTrue();
      OperatorControl.setForce(admin, "svc", false);
      assertThat(Coordination.forced(member, "svc")).isFalse();
    }
  }

  /**
   * set_force took any name: {@code SELECT cutover.set_force('billing-svc', false)} for service
   * {@code billing}, called by hand or from a runbook, succeeded and left billing forced, so its next
   * switch went without the replication proof. Off for a name the control schema knows nothing of
   * (no instance, switch or force setting) now fails naming the known services, and changes nothing;
   * on for one is still allowed (a service not started yet), as switch-force --not-started.
   */
  @Test
  void force_offForAMisspelledName_failsNamingTheKnownServices_andTheServiceStaysForced(PostgresPair pair) throws Exception {
    String db = database(pair.oldServer());
    try (Connection admin = pair.oldServer().connect(db); Connection member = as(pair.oldServer(), db, "member_cp")) {
      string(member, "SELECT count(*) FROM cutover.heartbeat('payments', 'p-1', 'old', 'old', 'idle', 5000)");
      OperatorControl.setForce(admin, "billing", true);

      SQLException e = fails(admin, "SELECT cutover.set_force('billing-svc', false)");

      assertThat(e.getSQLState()).isEqualTo("42704");
      assertThat(e.getMessage()).contains("no service 'billing-svc' in the control schema of database " + db)
          .contains("known: 'billing', 'payments'").contains("nothing was changed").contains("switch-status");
      assertThat(Coordination.forced(member, "billing")).as("billing still forced").isTrue();
      assertThat(string(admin, "SELECT count(*) FROM cutover.service_setting WHERE service = 'billing-svc'")).isEqualTo("0");
      assertThat(fails(admin, "SELECT cutover.set_force('o''hare', false)").getMessage()).contains("no service 'o''hare'");

      OperatorControl.setForce(admin, "payments", false);
      OperatorControl.setForce(admin, "not-started-yet", true);
      assertThat(Coordination.forced(member, "not-started-yet")).as("on for a service not started yet").isTrue();
      OperatorControl.setForce(admin, "billing", false);
      OperatorControl.setForce(admin, "billing", false);
      assertThat(Coordination.forced(member, "billing")).isFalse();
    }
  }

  @Test
  void raise_tableTheInstallerCannotGuard_failsNamingItAndTheRemedy_andLeavesTheFenceDown(PostgresPair pair)
      throws Exception {
    PostgresServer server = pair.oldServer();
    String db = "cp_owner" + DATABASES.incrementAndGet();
    server.createDatabase(db);
    try (Connection admin = server.connect(db); Statement s = admin.createStatement()) {
      s.execute("GRANT CREATE ON SCHEMA public TO owner_cp, other_cp");
      s.execute("GRANT CREATE ON DATABASE " + db + " TO owner_cp");
    }
    try (Connection owner = as(server, db, "owner_cp")) {
      try (Statement s = owner.createStatement()) {
        s.execute("CREATE TABLE mine (id int PRIMARY KEY)");
      }
      assertThat(ControlSchema.install(owner)).isEqualTo(1);
      try (Connection other = as(server, db, "other_cp"); Statement s = other.createStatement()) {
        s.execute("CREATE TABLE theirs (id int PRIMARY KEY)");
      }
      try (Statement s = owner.createStatement()) {
        s.execute("CREATE TABLE later (id int PRIMARY KEY)");
      }
      String id = Coordination.begin(owner, "svc", "s7", Target.OLD, Target.NEW);
      assertThat(Coordination.tryLead(owner, "svc", id)).isTrue();
      SQLException e = catchThrowableOfType(SQLException.class, () -> Fence.raise(owner, "svc", id, "test", Duration.ofSeconds(5)));
      assertThat(e.getSQLState()).isEqualTo("42501");
      assertThat(e.getMessage()).contains("public.theirs").contains("cannot be fenced").doesNotContain("later");
      assertThat(((org.postgresql.util.PSQLException) e).getServerErrorMessage().getHint())
          .contains("GRANT TRIGGER, UPDATE ON public.theirs TO owner_cp");
      assertThat(Fence.isRaised(owner)).isFalse();

      // Granted what the hint says, the raise guards both tables created after the install.
      try (Connection other = as(server, db, "other_cp"); Statement s = other.createStatement()) {
        s.execute("GRANT TRIGGER, UPDATE ON theirs TO owner_cp");
      }
      Fence.raise(owner, "svc", id, "test", Duration.ofSeconds(5));
      assertThat(ControlSchemaTest.guarded(owner, "theirs")).isTrue();
      assertThat(ControlSchemaTest.guarded(owner, "later")).isTrue();
      try (Connection other = as(server, db, "other_cp"); Statement s = other.createStatement()) {
        assertThat(catchThrowableOfType(SQLException.class, () -> s.execute("INSERT INTO theirs VALUES (1)"))
            .getSQLState()).isEqualTo("25006");
      }
      Coordination.abort(owner, "svc", id, "test over");
    }
  }

  @Test
  void markerArrivingASecondTime_isSkippedByTheApplySide_notADuplicateKey(PostgresPair pair) throws Exception {
    String db = database(pair.oldServer());
    try (Connection admin = pair.oldServer().connect(db); Connection member = as(pair.oldServer(), db, "member_cp")) {
      String marker = Barrier.write(member);
      try (Statement s = admin.createStatement()) {
        s.execute("SET session_replication_role = replica"); // as a replication apply worker runs
        assertThat(s.executeUpdate("INSERT INTO cutover.barrier (marker) VALUES ('" + marker + "')")).isZero();
        s.execute("RESET session_replication_role");
      }
      assertThat(string(admin, "SELECT count(*) FROM cutover.barrier WHERE marker = '" + marker + "'")).isEqualTo("1");
    }
  }

  @Test
  void leaderTakingOver_getsTheMarkerWrittenUnderTheSameFence_notASecondOne(PostgresPair pair) throws Exception {
    String db = database(pair.oldServer());
    try (Connection admin = pair.oldServer().connect(db); Connection first = as(pair.oldServer(), db, "member_cp");
        Connection successor = as(pair.oldServer(), db, "member_cp")) {
      String id = Coordination.begin(first, "svc", "s8", Target.OLD, Target.NEW);
      assertThat(Coordination.tryLead(first, "svc", id)).isTrue();
      Fence.raise(first, "svc", id, "first", Duration.ofSeconds(5));
      String marker = Barrier.writeForSwitch(first, "svc", id);
      first.close(); // the first leader's session dies; the server lets its lock go a moment later

      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> Coordination.tryLead(successor, "svc", id));
      Fence.raise(successor, "svc", id, "successor", Duration.ofSeconds(5));
      assertThat(Barrier.writeForSwitch(successor, "svc", id)).isEqualTo(marker);
      assertThat(string(admin, "SELECT count(*) FROM cutover.barrier WHERE marker LIKE 'barrier:%'")).isEqualTo("1");
      Coordination.abort(successor, "svc", id, "test over");
    }
  }

  @Test
  void slotRequests_surviveACrash_theirTableIsLogged(PostgresPair pair) throws Exception {
    String db = database(pair.oldServer());
    try (Connection admin = pair.oldServer().connect(db)) {
      assertThat(string(admin, "SELECT relpersistence FROM pg_class WHERE oid = 'cutover.slot_at_switch'::regclass"))
          .isEqualTo("p");
    }
  }

  /**
   * The apply lock's key is open to every role in pg_locks (review r10 #4): a role outside the
   * control plane holding it is no apply process, and the switch's remedy must still say to start one.
   */
  @Test
  void wayIn_applyLockKeyHeldByAnotherRole_isNotTakenForARunningApply(PostgresPair pair) throws Exception {
    String db = database(pair.oldServer());
    try (Connection admin = pair.oldServer().connect(db); Connection member = as(pair.oldServer(), db, "member_cp");
        Connection intruder = as(pair.oldServer(), db, "intruder_cp")) {
      try (Statement s = admin.createStatement()) {
        s.execute("CREATE TABLE cutover.apply_progress (direction text PRIMARY KEY, applied_at timestamptz)");
        s.execute("INSERT INTO cutover.apply_progress VALUES ('forward', now())");
      }
      String applying = "SELECT applying FROM cutover.way_in('forward')";
      string(intruder, "SELECT pg_advisory_lock(" + ControlSql.APPLY_LOCK + ", 1)::text");
      assertThat(string(member, "SELECT engine FROM cutover.way_in('forward')")).isEqualTo("capture");
      assertThat(string(member, applying)).as("the intruder holds the key").isEqualTo("f");

      string(intruder, "SELECT pg_advisory_unlock(" + ControlSql.APPLY_LOCK + ", 1)::text");
      string(admin, "SELECT pg_advisory_lock(" + ControlSql.APPLY_LOCK + ", 1)::text");
      assertThat(string(member, applying)).as("the installer, as the apply process is, holds it").isEqualTo("t");
    }
  }

  /**
   * Any role that may lock a guarded table holds the fence off (review r10 #3): the refusal names
   * the table and the session that holds it, not only "lock timeout".
   */
  @Test
  void raiseFence_tableLockedByAnotherRole_refusedNamingTheTableAndTheSession(PostgresPair pair) throws Exception {
    String db = database(pair.oldServer());
    try (Connection member = as(pair.oldServer(), db, "member_cp"); Connection intruder = as(pair.oldServer(), db, "intruder_cp")) {
      intruder.setAutoCommit(false);
      String pid = string(intruder, "SELECT pg_backend_pid()::text");
      try (Statement s = intruder.createStatement()) {
        s.execute("LOCK TABLE a IN ACCESS EXCLUSIVE MODE");
      }
      String id = Coordination.begin(member, "svc", "s9", Target.OLD, Target.NEW);
      assertThat(Coordination.tryLead(member, "svc", id)).isTrue();

      SQLException refused = catchThrowableOfType(SQLException.class,
          () -> Fence.raise(member, "svc", id, "member", Duration.ofMillis(300)));

      assertThat(refused.getSQLState()).isEqualTo("55P03");
      assertThat(refused.getMessage()).contains("the fence waited 300 ms for table public.a, held by process " + pid
          + " (role intruder_cp").contains("pg_terminate_backend");
      assertThat(Fence.isRaised(member)).isFalse();
      intruder.rollback();
      Coordination.abort(member, "svc", id, "test over");
    }
  }

  /**
   * As a reviewer found on PostgreSQL 15: an analytics read held ACCESS SHARE on the table, a
   * VACUUM FULL queued behind it for ACCESS EXCLUSIVE, and the fence's SHARE queued behind that;
   * the refusal said the table was "held by a session that has ended since" while both were alive.
   * It names the queued request and the session that request waits for.
   */
  @Test
  void raiseFence_queuedBehindAWaiterThatWaitsForAReader_namesBothLiveSessions(PostgresPair pair) throws Exception {
    String db = database(pair.oldServer());
    ExecutorService background = Executors.newSingleThreadExecutor();
    try (Connection member = as(pair.oldServer(), db, "member_cp"); Connection reader = as(pair.oldServer(), db, "intruder_cp");
        Connection vacuum = pair.oldServer().connect(db); Connection watch = pair.oldServer().connect(db)) {
      reader.setAutoCommit(false);
      String readerPid = string(reader, "SELECT pg_backend_pid()::text");
      string(reader, "SELECT count(*)::text FROM a");
      String vacuumPid = string(vacuum, "SELECT pg_backend_pid()::text");
      Future<?> queued = background.submit(() -> {
        try (Statement s = vacuum.createStatement()) {
          s.execute("VACUUM FULL a");
        }
        return null;
      });
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> string(watch,
          "SELECT count(*)::text FROM pg_locks WHERE NOT granted AND pid = " + vacuumPid).equals("1"));
      String id = Coordination.begin(member, "svc", "s10", Target.OLD, Target.NEW);
      assertThat(Coordination.tryLead(member, "svc", id)).isTrue();

      SQLException refused = catchThrowableOfType(SQLException.class,
          () -> Fence.raise(member, "svc", id, "member", Duration.ofMillis(300)));

      assertThat(refused.getSQLState()).isEqualTo("55P03");
      assertThat(refused.getMessage()).doesNotContain("ended since")
          .contains("the fence waited 300 ms for table public.a")
          .contains("process " + vacuumPid + " (role ").contains("VACUUM FULL a")
          .contains("queued for AccessExclusiveLock")
          .contains("which waits for process " + readerPid + " (role intruder_cp")
          .contains("pg_terminate_backend");
      assertThat(Fence.isRaised(member)).isFalse();
      reader.rollback();
      queued.get(30, TimeUnit.SECONDS);
      Coordination.abort(member, "svc", id, "test over");
    } finally {
      background.shutdownNow();
    }
  }
}
