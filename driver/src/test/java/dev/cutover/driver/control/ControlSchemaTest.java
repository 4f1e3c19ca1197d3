package dev.cutover.driver.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.cutover.driver.LeakCheckedPair;
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
import java.util.List;
import java.util.OptionalInt;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

@LeakCheckedPair
class ControlSchemaTest {

  private static Connection database(PostgresServer server, String name, String schema) throws SQLException {
    server.createDatabase(name);
    Connection c = server.connect(name);
    try (Statement s = c.createStatement()) {
      s.execute(schema);
    }
    return c;
  }

  /** Raises the fence the way a switch's leader does: a switch in progress, its lock, then the raise. */
  static long raiseAsLeader(Connection c, Duration lockTimeout) throws SQLException {
    String id = Coordination.begin(c, "svc", UUID.randomUUID().toString(), Target.OLD, Target.NEW);
    assertThat(Coordination.tryLead(c, "svc", id)).isTrue();
    return Fence.raise(c, "svc", id, "test", lockTimeout);
  }

  @Test
  void install_twice_isIdempotentAndASuperuserInstallGuardsTablesAsTheyAreCreated(PostgresPair pair) throws Exception {
    try (Connection c = database(pair.oldServer(), "install_twice", "CREATE TABLE a (id int PRIMARY KEY)")) {
      assertThat(ControlSchema.installedVersion(c)).isEmpty();
      assertThat(ControlSchema.install(c)).isEqualTo(1);
      assertThat(ControlSchema.install(c)).isZero();
      try (Statement s = c.createStatement()) {
        s.execute("CREATE TABLE b (id int PRIMARY KEY)");
        s.execute("CREATE TABLE c AS SELECT 1 AS id");
      }
      assertThat(guarded(c, "b")).as("guarded by the event trigger as it was created").isTrue();
      assertThat(guarded(c, "c")).isTrue();
      assertThat(ControlSchema.install(c)).isZero();
      assertThat(ControlSchema.installedVersion(c)).isEqualTo(OptionalInt.of(ControlSchema.VERSION));
    }
  }

  /**
   * A writer whose transactions touch five tables in the other order than the install takes them
   * (by name), one after another without pause, with a moment between its first table and the
   * rest: the install guards all five while it writes, and the writer never fails. Locked in one
   * statement, as before, every try took the tables the writer had not reached yet, then waited
   * for the one it held while it waited for one of those, until the lock timeout: the install gave
   * up after its 20 s.
   */
  @Test
  void install_writerSpanningTablesInTheOtherOrder_guardsThemAllWhileItWrites(PostgresPair pair) throws Exception {
    List<String> tables = List.of("a", "b", "c", "d", "e");
    StringBuilder schema = new StringBuilder();
    StringBuilder write = new StringBuilder();
    for (String t : tables) {
      schema.append("CREATE TABLE ").append(t).append(" (id int PRIMARY KEY, n int); INSERT INTO ").append(t).append(" VALUES (1, 0);");
      write.insert(0, "UPDATE " + t + " SET n = n + 1;" + (t.equals("e") ? " SELECT pg_sleep(0.02);" : ""));
    }
    try (Connection c = database(pair.oldServer(), "install_writing", schema.toString())) {
      AtomicBoolean stop = new AtomicBoolean();
      AtomicLong commits = new AtomicLong();
      AtomicReference<Throwable> failure = new AtomicReference<>();
      Thread writer = new Thread(() -> {
        try (Connection w = pair.oldServer().connect("install_writing"); Statement s = w.createStatement()) {
          w.setAutoCommit(false);
          while (!stop.get()) {
            s.execute(write.toString());
            w.commit();
            commits.incrementAndGet();
          }
        } catch (Throwable t) {
          failure.set(t);
        }
      }, "install-writer");
      writer.start();
      try {
        await().atMost(Duration.ofSeconds(20)).until(() -> commits.get() >= 3 || failure.get() != null);
        assertThat(ControlSchema.install(c)).isEqualTo(tables.size());
        long seen = commits.get();
        await().atMost(Duration.ofSeconds(20)).until(() -> commits.get() >= seen + 3 || failure.get() != null);
      } finally {
        stop.set(true);
        writer.join();
      }
      assertThat(failure.get()).isNull();
      for (String t : tables) {
        assertThat(guarded(c, t)).as(t).isTrue();
      }
    }
  }

  /**
   * A transaction left open on one of three guarded tables while the control schema is removed:
   * the application goes on reading and writing every table (here within a 3 s statement timeout)
   * while the uninstall waits, and once the transaction ends the uninstall completes. In one
   * transaction, it held every table whose trigger it had dropped, and the held one's queue, for as
   * long as the transaction stayed open.
   */
  @Test
  void uninstall_transactionHoldsATable_applicationKeepsUsingEveryTableWhileItWaits(PostgresPair pair) throws Exception {
    List<String> tables = List.of("a", "b", "c");
    StringBuilder schema = new StringBuilder();
    for (String t : tables) {
      schema.append("CREATE TABLE ").append(t).append(" (id int PRIMARY KEY, n int); INSERT INTO ").append(t).append(" VALUES (1, 0);");
    }
    try (Connection c = database(pair.oldServer(), "uninstall_held", schema.toString());
        Connection holder = pair.oldServer().connect("uninstall_held"); Connection app = pair.oldServer().connect("uninstall_held");
        Statement h = holder.createStatement(); Statement a = app.createStatement()) {
      ControlSchema.install(c);
      holder.setAutoCommit(false);
      h.execute("UPDATE b SET n = n + 1");
      AtomicReference<Throwable> failure = new AtomicReference<>();
      Thread uninstalling = new Thread(() -> {
        try {
          ControlSchema.uninstall(c);
        } catch (Throwable t) {
          failure.set(t);
        }
      }, "uninstalling");
      uninstalling.start();
      try {
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(5)).until(() -> count(app,
            "SELECT count(*) FROM pg_locks WHERE relation = 'b'::regclass AND mode = 'AccessExclusiveLock' AND NOT granted") > 0);
        a.execute("SET statement_timeout = '3s'");
        for (int round = 0; round < 3; round++) {
          for (String t : tables) {
            if (!t.equals("b")) {
              a.execute("UPDATE " + t + " SET n = n + 1");
            }
            assertThat(count(app, "SELECT count(*) FROM " + t)).isOne();
          }
        }
      } finally {
        holder.commit();
        uninstalling.join();
      }
      assertThat(failure.get()).isNull();
      assertThat(count(app, "SELECT count(*) FROM pg_trigger WHERE tgname = 'cutover_fence'")).isZero();
      assertThat(count(app, "SELECT count(*) FROM pg_namespace WHERE nspname = 'cutover'")).isZero();
    }
  }

  private static long count(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  static boolean guarded(Connection c, String table) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_trigger"
        + " WHERE tgname = 'cutover_fence' AND tgenabled = 'O' AND tgrelid = '" + table + "'::regclass")) {
      rs.next();
      return rs.getInt(1) == 1;
    }
  }

  @Test
  void install_overVersion1_upgradesInPlace_keepingTheFenceAndRevokingPublic(PostgresPair pair) throws Exception {
    try (Connection c = database(pair.oldServer(), "upgrade_v1", "CREATE TABLE a (id int PRIMARY KEY)")) {
      VersionOne.install(c, "a");
      try (Statement s = c.createStatement()) {
        s.execute("SELECT cutover.raise_fence(1000)");
      }
      assertThat(ControlSchema.installedVersion(c)).isEqualTo(OptionalInt.of(1));

      assertThat(ControlSchema.install(c)).isZero();

      assertThat(ControlSchema.installedVersion(c)).isEqualTo(OptionalInt.of(ControlSchema.VERSION));
      assertThat(Fence.isRaised(c)).as("the fence version 1 raised still stands").isTrue();
      try (Statement s = c.createStatement()) {
        assertThatThrownBy(() -> s.execute("INSERT INTO a VALUES (1)")).hasMessageContaining("fenced");
      }
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT"
          + " (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'cutover'"
          + "   AND has_function_privilege('public', p.oid, 'EXECUTE')),"
          + " to_regprocedure('cutover.finish_switch(text, text, text, text, text)') IS NULL"
          + "   AND to_regprocedure('cutover.heartbeat(text, text)') IS NULL AND to_regclass('cutover.fence_state') IS NULL,"
          + " has_schema_privilege('public', 'cutover', 'USAGE')")) {
        rs.next();
        assertThat(rs.getInt(1)).as("functions PUBLIC may execute").isZero();
        assertThat(rs.getBoolean(2)).as("version 1's functions and fence are gone").isTrue();
        assertThat(rs.getBoolean(3)).as("PUBLIC's usage of the schema").isFalse();
      }
      Fence.lower(c);
      try (Statement s = c.createStatement()) {
        assertThat(s.executeUpdate("INSERT INTO a VALUES (1)")).isEqualTo(1);
      }
      assertThat(ControlSchema.install(c)).isZero();
    }
  }

  /**
   * A version-2 install from before the release recorded the target's fence epoch: its release,
   * verification and open steps have other signatures or results, which a plain CREATE OR REPLACE
   * cannot change.
   */
  @Test
  void install_overAVersion2WithoutTheTargetEpoch_replacesTheChangedSteps(PostgresPair pair) throws Exception {
    try (Connection c = database(pair.oldServer(), "upgrade_v2", "CREATE TABLE a (id int PRIMARY KEY)")) {
      ControlSchema.install(c);
      try (Statement s = c.createStatement()) {
        s.execute("ALTER TABLE cutover.switch DROP COLUMN target_epoch");
        s.execute("DROP FUNCTION cutover.verify_release(text, text)");
        s.execute("DROP FUNCTION cutover.open_target(text, text, bigint)");
        s.execute("DROP FUNCTION cutover.release_switch(text, text, text, text, bigint)");
        s.execute("CREATE FUNCTION cutover.verify_release(p_service text, p_switch text)"
            + " RETURNS TABLE (released_marker text, problem text) LANGUAGE sql AS $$ SELECT NULL::text, 'old'::text $$");
        s.execute("CREATE FUNCTION cutover.open_target(text, text) RETURNS integer LANGUAGE sql AS 'SELECT 0'");
        s.execute("CREATE FUNCTION cutover.release_switch(text, text, text, text) RETURNS void LANGUAGE sql AS ''");
      }

      assertThat(ControlSchema.install(c)).isZero();

      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT"
          + " to_regprocedure('cutover.open_target(text, text)') IS NULL"
          + "   AND to_regprocedure('cutover.release_switch(text, text, text, text)') IS NULL,"
          + " to_regprocedure('cutover.open_target(text, text, bigint)') IS NOT NULL"
          + "   AND to_regprocedure('cutover.release_switch(text, text, text, text, bigint)') IS NOT NULL,"
          + " (SELECT count(*) FROM cutover.verify_release('svc', 'none') v WHERE v.target_epoch IS NULL)")) {
        rs.next();
        assertThat(rs.getBoolean(1)).as("the earlier steps are gone").isTrue();
        assertThat(rs.getBoolean(2)).as("the steps with the target's epoch are there").isTrue();
        assertThat(rs.getInt(3)).as("verify_release answers with the target's epoch column").isEqualTo(1);
      }
    }
  }

  /**
   * A version-2 install from before the switch's record, the fence's settled epoch and the marker
   * log were logged: crash recovery emptied them while the fence (a sequence) stayed up, so that
   * nobody lowered it. Installing again makes them logged, keeping the switch in progress and its
   * fence, and gives each the trigger that drops rows replication brings from the other side.
   */
  @Test
  void install_overAVersion2WithUnloggedSwitchRecords_makesThemLoggedKeepingTheirRows(PostgresPair pair)
      throws Exception {
    try (Connection c = database(pair.oldServer(), "upgrade_unlogged", "CREATE TABLE a (id int PRIMARY KEY)")) {
      ControlSchema.install(c);
      try (Statement s = c.createStatement()) {
        for (String t : List.of("switch", "fence", "marker_log")) {
          s.execute("DROP TRIGGER IF EXISTS cutover_local_only ON cutover." + t);
          s.execute("ALTER TABLE cutover." + t + " SET UNLOGGED");
        }
      }
      long epoch = raiseAsLeader(c, Duration.ofSeconds(5));

      assertThat(ControlSchema.install(c)).isZero();

      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT"
          + " (SELECT string_agg(c.relname || '=' || c.relpersistence, ',' ORDER BY c.relname) FROM pg_class c"
          + "   WHERE c.oid IN ('cutover.switch'::regclass, 'cutover.fence'::regclass, 'cutover.marker_log'::regclass)),"
          + " (SELECT string_agg(g.tgrelid::regclass::text || '=' || g.tgenabled, ',' ORDER BY g.tgrelid::regclass::text)"
          + "   FROM pg_trigger g WHERE g.tgname = 'cutover_local_only'),"
          + " (SELECT w.state || ':' || w.fence_epoch FROM cutover.switch w WHERE w.service = 'svc'),"
          + " (SELECT f.settled_epoch FROM cutover.fence f)")) {
        rs.next();
        assertThat(rs.getString(1)).as("logged: a crash keeps them").isEqualTo("fence=p,marker_log=p,switch=p");
        assertThat(rs.getString(2)).as("each drops what replication brings (enabled for replica sessions only)")
            .isEqualTo("cutover.fence=R,cutover.marker_log=R,cutover.slot_at_switch=R,cutover.switch=R");
        assertThat(rs.getString(3)).as("the switch in progress is kept").isEqualTo("draining:" + epoch);
        assertThat(rs.getLong(4)).isEqualTo(epoch);
      }
      assertThat(Fence.isRaised(c)).isTrue();
    }
  }

  /**
   * The record of a switch that raised the fence is gone (lost in a crash under an install from
   * before records were logged, or deleted by hand). Before, its abort answered 'superseded', as if
   * a later switch owned the fence, and the caller went on in silence with the fence up; now it
   * answers that the record is missing, changes nothing, and the instance says so (with the remedy).
   */
  @Test
  void abort_switchRecordMissing_saysSoAndLeavesTheFence(PostgresPair pair) throws Exception {
    try (Connection c = database(pair.oldServer(), "abort_missing", "CREATE TABLE a (id int PRIMARY KEY)")) {
      ControlSchema.install(c);
      String id = Coordination.begin(c, "svc", UUID.randomUUID().toString(), Target.OLD, Target.NEW);
      assertThat(Coordination.tryLead(c, "svc", id)).isTrue();
      Fence.raise(c, "svc", id, "test", Duration.ofSeconds(5));
      try (Statement s = c.createStatement()) {
        s.execute("DELETE FROM cutover.switch");
      }

      try (Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT cutover.abort_switch('svc', '" + id + "', 'gave up')")) {
        rs.next();
        assertThat(rs.getString(1)).isEqualTo("missing");
      }
      assertThat(Fence.isRaised(c)).as("whose fence it is cannot be told: it stays for the operator").isTrue();
      String later = Coordination.begin(c, "svc", UUID.randomUUID().toString(), Target.OLD, Target.NEW);
      try (Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT cutover.abort_switch('svc', '" + id + "', 'gave up')")) {
        rs.next();
        assertThat(rs.getString(1)).as("a later switch owns the record now").isEqualTo("superseded");
      }
      Coordination.resign(c, "svc", id);
      assertThat(Coordination.tryLead(c, "svc", later)).isTrue();
      Coordination.abort(c, "svc", later, "test over");
      Fence.lower(c);
    }
  }

  /**
   * A version-2 install from before the operator view listed services and the leader's backend, and
   * before the switch made the way back's slots in a step of their own: a role granted the control
   * plane then may call the functions added since once the install is repeated, without being named
   * again.
   */
  @Test
  void install_overAVersion2WithoutTheAddedOperatorFunctions_addsThemAndGrantsThemToRolesGrantedBefore(
      PostgresPair pair) throws Exception {
    try (Connection c = database(pair.oldServer(), "upgrade_operator_view", "CREATE TABLE a (id int PRIMARY KEY)")) {
      try (Statement s = c.createStatement()) {
        s.execute("DO $$ BEGIN CREATE ROLE early_ops LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
      }
      ControlSchema.install(c, List.of("early_ops", pair.oldServer().user()));
      try (Statement s = c.createStatement()) {
        s.execute("DROP FUNCTION cutover.switch_leader(text)");
        s.execute("DROP FUNCTION cutover.switch_leader_pid(text)");
        s.execute("DROP FUNCTION cutover.service_names()");
        s.execute("DROP FUNCTION cutover.miss_slots_at_switch(text, text, text)");
        s.execute("DROP FUNCTION cutover.make_slots_at_switch(text, text, bigint, integer)");
        s.execute("DROP FUNCTION cutover.slots_at_switch()");
        s.execute("ALTER TABLE cutover.slot_at_switch DROP COLUMN missed");
        s.execute("INSERT INTO cutover.switch (service, id, source, target, state) VALUES ('svc', 's-1', 'old', 'new', 'draining')");
      }

      assertThat(ControlSchema.install(c)).isZero();

      assertThat(ControlSchema.granted(c, "early_ops")).as("granted every function of the control plane").isTrue();
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT count(*) FROM information_schema.columns"
          + " WHERE table_schema = 'cutover' AND table_name = 'slot_at_switch' AND column_name = 'missed'")) {
        rs.next();
        assertThat(rs.getInt(1)).isOne();
      }
      try (Connection early = ControlPlaneSecurityTest.as(pair.oldServer(), "upgrade_operator_view", "early_ops")) {
        assertThat(OperatorControl.services(early)).containsExactly("svc");
        assertThat(OperatorControl.read(early, "svc").lastSwitch()).get()
            .satisfies(s -> assertThat(s.leaderBackend()).isEmpty());
      }
    }
  }

  /**
   * The install lock is an advisory lock with a fixed key, which any role may take: held by a plain
   * role's session, install used to wait as long as that session lived. It is now refused after
   * the install's lock retry, naming the holder and how to end it, and nothing is installed.
   */
  @Test
  void install_anotherRoleHoldsTheInstallLock_isRefusedNamingItAndInstallsOnceItLetsGo(PostgresPair pair)
      throws Exception {
    PostgresServer server = pair.oldServer();
    try (Connection c = database(server, "install_lock_squatted", "CREATE TABLE a (id int PRIMARY KEY)")) {
      try (Statement s = c.createStatement()) {
        s.execute("DO $$ BEGIN CREATE ROLE lock_squatter LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
      }
      java.util.Properties as = new java.util.Properties();
      as.setProperty("user", "lock_squatter");
      as.setProperty("ApplicationName", "squatting-app");
      int pid;
      try (Connection squatter = new org.postgresql.Driver().connect(server.jdbcUrl("install_lock_squatted"), as);
          Statement s = squatter.createStatement()) {
        try (ResultSet rs = s.executeQuery("SELECT pg_backend_pid(), pg_advisory_lock(" + 0x63_75_74_6f_76_65_72L + ")")) {
          rs.next();
          pid = rs.getInt(1);
        }

        assertThatThrownBy(() -> ControlSchema.install(c))
            .isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("55P03"))
            .hasMessageContaining("install lock")
            .hasMessageContaining("process " + pid + " (role lock_squatter, application 'squatting-app'")
            .hasMessageContaining("pg_terminate_backend(" + pid + ")");
        assertThat(ControlSchema.installedVersion(c)).as("nothing of it stays").isEmpty();
      }

      ControlSchema.install(c);
      assertThat(ControlSchema.installedVersion(c)).hasValue(ControlSchema.VERSION);
    }
  }

  @Test
  void install_namedRoleThatDoesNotExist_failsNamingIt(PostgresPair pair) throws Exception {
    try (Connection c = database(pair.oldServer(), "install_missing_role", "CREATE TABLE a (id int PRIMARY KEY)")) {
      assertThatThrownBy(() -> ControlSchema.install(c, java.util.List.of("no_such_app")))
          .isInstanceOf(SQLException.class)
          .hasMessageContaining("role \"no_such_app\"").hasMessageContaining("--app-role");
      assertThat(ControlSchema.installedVersion(c)).as("nothing of it stays").isEmpty();
    }
  }

  /**
   * r27 D1: the installer's statements and DO blocks called built-ins by the session's path, where
   * a function in public whose argument types match exactly ({@code format(text, name, name)}
   * beside {@code format(text, VARIADIC "any")}, CVE-2018-1058) wins: it ran as the installer, a
   * superuser perhaps, and what it returned became a statement ({@code DROP TRIGGER ... ON} its
   * result). The install and the uninstall run none of it.
   */
  @Test
  void installAndUninstall_lookalikesOfFormatInPublic_runNoneOfThem(PostgresPair pair) throws Exception {
    String mark = "BEGIN EXECUTE 'CREATE TABLE IF NOT EXISTS public.planted_ran ()'; RETURN pg_catalog.format";
    try (Connection c = database(pair.oldServer(), "planted_format", "CREATE TABLE a (id int PRIMARY KEY);"
        + " CREATE FUNCTION public.format(text, name, name) RETURNS text LANGUAGE plpgsql AS $$ " + mark
        + "($1, $2::text, $3::text); END $$;"
        + " CREATE FUNCTION public.format(text, text, text) RETURNS text LANGUAGE plpgsql AS $$ " + mark
        + "($1, $2, $3); END $$")) {
      ControlSchema.install(c);
      ControlSchema.install(c);
      ControlSchema.uninstall(c);

      assertThat(count(c, "SELECT count(*) FROM pg_class WHERE relname = 'planted_ran'")).as("the planted code ran").isZero();
      assertThat(count(c, "SELECT count(*) FROM pg_trigger WHERE tgname = 'cutover_fence'")).isZero();
    }
  }

  @Test
  void uninstall_twice_leavesNothingOfOurs(PostgresPair pair) throws Exception {
    try (Connection c = database(pair.oldServer(), "uninstall_twice", "CREATE TABLE a (id int PRIMARY KEY)")) {
      ControlSchema.install(c);
      ControlSchema.uninstall(c);
      ControlSchema.uninstall(c);
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
          "SELECT (SELECT count(*) FROM pg_trigger WHERE tgname = 'cutover_fence')"
              + " + (SELECT count(*) FROM pg_namespace WHERE nspname = 'cutover')")) {
        rs.next();
        assertThat(rs.getInt(1)).isZero();
      }
      assertThat(ControlSchema.installedVersion(c)).isEmpty();
    }
  }

  @Test
  void fence_raised_blocksEveryWriteEvenFromOlderSnapshots(PostgresPair pair) throws Exception {
    try (Connection admin = database(pair.oldServer(), "fence_snapshots",
            "CREATE TABLE a (id int PRIMARY KEY); INSERT INTO a VALUES (1)");
        Connection early = pair.oldServer().connect("fence_snapshots")) {
      ControlSchema.install(admin);
      early.setAutoCommit(false);
      early.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
      try (Statement s = early.createStatement(); ResultSet rs = s.executeQuery("SELECT count(*) FROM a")) {
        rs.next(); // the snapshot is taken now, before the fence
      }

      assertThat(raiseAsLeader(admin, Duration.ofSeconds(5)) % 2).isEqualTo(1);
      assertThat(Fence.isRaised(admin)).isTrue();

      try (Statement s = early.createStatement()) {
        assertThatThrownBy(() -> s.executeUpdate("UPDATE a SET id = 2"))
            .isInstanceOf(SQLException.class)
            .hasMessageContaining("fenced")
            .hasMessageContaining("UPDATE on public.a");
      }
      early.rollback();
      try (Statement s = admin.createStatement()) {
        assertThatThrownBy(() -> s.execute("TRUNCATE a")).hasMessageContaining("fenced");
      }
      Fence.lower(admin);
      try (Statement s = admin.createStatement()) {
        assertThat(s.executeUpdate("UPDATE a SET id = 3")).isEqualTo(1);
      }
    }
  }

  @Test
  void raise_writerStillOpen_waitsForItThenTimesOut(PostgresPair pair) throws Exception {
    try (Connection admin = database(pair.oldServer(), "fence_waits", "CREATE TABLE a (id int PRIMARY KEY)");
        Connection writer = pair.oldServer().connect("fence_waits")) {
      ControlSchema.install(admin);
      writer.setAutoCommit(false);
      try (Statement s = writer.createStatement()) {
        s.executeUpdate("INSERT INTO a VALUES (1)");
      }
      assertThatThrownBy(() -> raiseAsLeader(admin, Duration.ofMillis(200)))
          .isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("55P03"))
          .hasMessageContaining("the fence waited 200 ms for table public.a, held by process");
      assertThat(Fence.isRaised(admin)).as("a raise that fails lowers the fence it raised").isFalse();
      writer.rollback();
    }
  }

  /**
   * The remedy printed to a role the control schema is not granted to, pasted as the installer,
   * grants exactly that role: its name is a SQL literal and a shell word however it is spelt. The
   * name was joined in as written: for {@code r'); CREATE TABLE injected(); --} the pasted remedy
   * created a table, for {@code o'brien} it was a syntax error (r26).
   */
  @Test
  void installedVersion_roleNotGranted_remedyGrantsExactlyThatRole(PostgresPair pair) throws Exception {
    try (Connection admin = database(pair.oldServer(), "role_remedy", "CREATE TABLE a (id int PRIMARY KEY)")) {
      ControlSchema.install(admin);
      for (String role : List.of("o'brien", "r'); CREATE TABLE injected(); --", "back\\slash $HOME `id` \"q\"")) {
        String quoted = '"' + role.replace("\"", "\"\"") + '"';
        try (Statement s = admin.createStatement()) {
          s.execute("CREATE ROLE " + quoted);
          s.execute("SET ROLE " + quoted);
        }
        SQLException refused = null;
        try {
          ControlSchema.installedVersion(admin);
        } catch (SQLException e) {
          refused = e;
        }
        try (Statement s = admin.createStatement()) {
          s.execute("RESET ROLE");
        }
        assertThat((Throwable) refused).as(role).isNotNull();
        assertThat(refused.getSQLState()).isEqualTo("42501");
        String message = refused.getMessage();
        int sql = message.lastIndexOf("SELECT cutover.grant_control_plane(");
        int end = message.lastIndexOf(" as the installer)");
        assertThat(sql).as(message).isPositive();
        assertThat(end).as(message).isGreaterThan(sql);
        int arg = message.indexOf("--app-role ") + "--app-role ".length();
        int argEnd = message.lastIndexOf(", or SELECT cutover.grant_control_plane(");
        Process echo = new ProcessBuilder("sh", "-c", "printf %s " + message.substring(arg, argEnd)).start();
        assertThat(new String(echo.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8))
            .as("the shell reads --app-role's argument as the role: " + message).isEqualTo(role);
        assertThat(echo.waitFor()).isZero();

        try (Statement s = admin.createStatement()) {
          s.execute(message.substring(sql, end)); // pasted as the installer
          s.execute("SET ROLE " + quoted);
        }
        assertThat(ControlSchema.installedVersion(admin)).as(role).isEqualTo(OptionalInt.of(ControlSchema.VERSION));
        try (Statement s = admin.createStatement()) {
          s.execute("RESET ROLE");
          try (ResultSet rs = s.executeQuery("SELECT to_regclass('public.injected') IS NULL")) {
            rs.next();
            assertThat(rs.getBoolean(1)).as("the remedy created nothing").isTrue();
          }
        }
      }
    }
  }
}
