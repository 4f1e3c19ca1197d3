package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.cutover.driver.control.Attacks;
import dev.cutover.driver.internal.control.Barrier;
import dev.cutover.driver.control.ControlSchema;
import dev.cutover.driver.control.OperatorControl;
import dev.cutover.driver.internal.control.Coordination;
import dev.cutover.driver.internal.control.Fence;
import dev.cutover.driver.Outcome;
import dev.cutover.driver.SwitchEvent;
import dev.cutover.flags.ManualFlag;
import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresServer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The switch against other roles on the same databases, with live pools switching: a role with
 * only CONNECT and table grants can neither steer, block nor bypass it; a role granted the control
 * plane (a malicious instance of the service) cannot make the honest instances follow a release
 * without a real fence and barrier.
 */
@LeakCheckedPair
class SecurityTest {
  private static final String INTRUDER = "intruder";
  private static final String MALLORY = "mallory";
  private static final org.postgresql.Driver PG = new org.postgresql.Driver();

  /** The database on both servers, with an intruder (CONNECT and table grants) and mallory (the control plane too). */
  private static Replicated database(PostgresPair pair) throws Exception {
    for (PostgresServer server : new PostgresServer[] {pair.oldServer(), pair.newServer()}) {
      try (Connection c = server.connect(); Statement s = c.createStatement()) {
        for (String role : new String[] {INTRUDER, MALLORY}) {
          s.execute("DO $$ BEGIN CREATE ROLE " + role + " LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
        }
      }
    }
    Replicated db = Replicated.create(pair, Workload.SCHEMA, true);
    for (Connection c : new Connection[] {db.oldDirect(), db.newDirect()}) {
      try (c; Statement s = c.createStatement()) {
        s.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO " + INTRUDER + ", " + MALLORY);
        s.execute("GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO " + INTRUDER + ", " + MALLORY);
        ControlSchema.install(c, List.of(MALLORY));
      }
    }
    return db;
  }

  private static Connection as(PostgresServer server, String database, String role) throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", role);
    return PG.connect(server.jdbcUrl(database), p);
  }

  @Test
  void outsider_triesEveryAttackWhileALivePoolSwitches_eachIsRefusedAndThePoolLosesNothing(PostgresPair pair)
      throws Exception {
    Replicated db = database(pair);
    ConcurrentLinkedQueue<String> notRefused = new ConcurrentLinkedQueue<>();
    AtomicLong refused = new AtomicLong();
    ScheduledExecutorService attacker = Executors.newSingleThreadScheduledExecutor();
    try (Connection onOld = as(pair.oldServer(), db.database, INTRUDER);
        Connection onNew = as(pair.newServer(), db.database, INTRUDER);
        LivePool live = new LivePool(db, db.url(), Map.of())) {
      // The squatter's guesses at the leader's lock (the version-1 key and the service's name), and
      // the keys earlier builds serialised switch starts and the fence with, held for good: the
      // fence's made the switch wait for it on new after its release, holding the application.
      for (Connection c : List.of(onOld, onNew)) {
        try (Statement s = c.createStatement()) {
          s.execute("SELECT pg_advisory_lock(" + 0x63757432 + ", hashtext('" + db.database + "'))");
          s.execute("SELECT pg_advisory_lock(" + 0x63757431 + ", hashtext('" + db.database + "'))");
          s.execute("SELECT pg_advisory_lock(" + 0x63757433 + ", 0)");
        }
      }
      attacker.scheduleWithFixedDelay(() -> {
        for (Connection c : List.of(onOld, onNew)) {
          for (String attack : Attacks.OUTSIDER) {
            String sql = attack.replace("'svc'", "'" + db.database + "'");
            try (Statement s = c.createStatement()) {
              s.execute(sql);
              notRefused.add(sql);
            } catch (SQLException e) {
              if ("42501".equals(e.getSQLState())) {
                refused.incrementAndGet();
              } else {
                notRefused.add(sql + ": " + e.getSQLState() + " " + e.getMessage());
              }
            }
          }
        }
      }, 0, 20, TimeUnit.MILLISECONDS);

      live.flipUnderLoad("an outsider attacks throughout", Target.NEW, 0, () -> db.flip(Target.NEW));

      attacker.shutdown();
      assertThat(attacker.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
      assertThat(notRefused).as("attacks that were not refused with 42501").isEmpty();
      assertThat(refused.get()).isGreaterThan(Attacks.OUTSIDER.size() * 2L);
      // The fence holds for everyone else: the intruder's own writes on old are refused now.
      try (Statement s = onOld.createStatement()) {
        assertThat(catchThrowableOfType(SQLException.class,
            () -> s.executeUpdate("INSERT INTO booking (writer, seq) VALUES (-9, 1)")).getSQLState()).isEqualTo("25006");
        assertThat(catchThrowableOfType(SQLException.class,
            () -> s.execute("ALTER TABLE booking DISABLE TRIGGER cutover_fence")).getSQLState()).isEqualTo("42501");
      }
    } finally {
      attacker.shutdownNow();
      ManualFlag.named(db.flagKey).set(Target.OLD);
    }
  }

  /**
   * As the reviewer did: a role with only CONNECT polls {@code pg_locks} for the switch leader's
   * lock, queues on the key it reads there, and gets it when the leader's session dies.
   */
  private static Future<?> squat(ExecutorService on, Connection intruder) {
    return on.submit(() -> {
      try (Statement s = intruder.createStatement()) {
        s.execute("DO $$ DECLARE k oid; BEGIN LOOP SELECT objid INTO k FROM pg_locks WHERE locktype = 'advisory'"
            + " AND classid = " + 0x63757432 + " AND objsubid = 2 AND granted LIMIT 1; EXIT WHEN k IS NOT NULL;"
            + " PERFORM pg_sleep(0.002); END LOOP; PERFORM pg_advisory_lock(" + 0x63757432 + ", k::bigint::bit(32)::int); END $$");
      }
      return null;
    });
  }

  private static int pid(Connection c) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT pg_backend_pid()")) {
      rs.next();
      return rs.getInt(1);
    }
  }

  private static Optional<Integer> leaderPid(Connection c, String service) throws SQLException {
    return OperatorControl.read(c, service).lastSwitch().flatMap(OperatorControl.SwitchView::leaderBackend)
        .map(OperatorControl.LeaderBackend::pid);
  }

  @Test
  void outsider_squatsTheLeadersKeyFromPgLocks_leadersSessionDiesOnTheTargetAfterTheRelease_anotherInstanceOpensIt(
      PostgresPair pair) throws Exception {
    Replicated db = database(pair);
    List<HikariDataSource> pools = new ArrayList<>();
    ExecutorService squatters = Executors.newFixedThreadPool(2);
    try (Connection oldAdmin = db.oldDirect(); Connection newAdmin = db.newDirect();
        Connection onOld = as(pair.oldServer(), db.database, INTRUDER);
        Connection onNew = as(pair.newServer(), db.database, INTRUDER)) {
      // New fenced as if the service had left it before: the switch to it must open it.
      try (Statement s = newAdmin.createStatement()) {
        s.execute("SELECT setval('cutover.fence_epoch', 1, true)");
      }
      for (int i = 0; i < 2; i++) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(db.url("cutover.instance=squatted" + i, "cutover.barrier.timeout=3s"));
        config.setUsername(db.user());
        config.setMaximumPoolSize(2);
        pools.add(new HikariDataSource(config));
      }
      int oldSquatter = pid(onOld);
      int newSquatter = pid(onNew);
      Future<?> squattingOld = squat(squatters, onOld);
      Future<?> squattingNew = squat(squatters, onNew);
      // The leader is held inside open_target on new (its fence lock taken here) until it is killed there.
      newAdmin.setAutoCommit(false);
      try (Statement s = newAdmin.createStatement()) {
        s.execute("LOCK TABLE cutover.fence_lock IN EXCLUSIVE MODE");
      }
      db.flip(Target.NEW);
      int[] leaderOnNew = {0};
      await().atMost(Duration.ofSeconds(30)).until(() -> {
        try (Connection c = db.newDirect(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
            "SELECT g.pid FROM pg_locks g JOIN pg_locks w ON w.locktype = 'advisory' AND w.classid = g.classid"
                + " AND w.objid = g.objid AND w.objsubid = 2 AND NOT w.granted AND w.pid = " + newSquatter
                + " WHERE g.locktype = 'advisory' AND g.granted AND g.classid = " + 0x63757432 + " AND g.objsubid = 2")) {
          leaderOnNew[0] = rs.next() ? rs.getInt(1) : 0;
          return leaderOnNew[0] != 0;
        }
      });
      try (Statement s = newAdmin.createStatement()) {
        s.execute("SELECT pg_terminate_backend(" + leaderOnNew[0] + ")"); // the leader's session dies mid-switch
      }
      newAdmin.commit();
      newAdmin.setAutoCommit(true);
      squattingNew.get(10, TimeUnit.SECONDS);

      // Another instance (or the leader on a fresh session) takes over from the squatter and opens new.
      await().atMost(Duration.ofSeconds(40)).untilAsserted(() -> {
        assertThat(leaderPid(newAdmin, db.database)).as("the view on new").isNotEqualTo(Optional.of(newSquatter));
        assertThat(leaderPid(oldAdmin, db.database)).as("the view on old").isNotEqualTo(Optional.of(oldSquatter));
        assertThat(Fence.isRaised(newAdmin)).as("new, the switch's target, is open").isFalse();
      });
      for (HikariDataSource pool : pools) {
        await().atMost(Duration.ofSeconds(20)).ignoreExceptions().until(() -> {
          try (Connection c = pool.getConnection(); Statement s = c.createStatement()) {
            return s.executeUpdate("INSERT INTO booking (writer, seq) VALUES (-" + (pools.indexOf(pool) + 1) + ", 1)") == 1;
          }
        });
      }
      assertThat(Fence.isRaised(oldAdmin)).as("old stays fenced after the switch").isTrue();
      if (squattingOld.isDone()) {
        assertThat(leaderPid(oldAdmin, db.database)).as("the view on old").isNotEqualTo(Optional.of(oldSquatter));
      }
    } finally {
      squatters.shutdownNow();
      pools.forEach(HikariDataSource::close);
      CutoverDriver.shutdown(db.database);
      ManualFlag.named(db.flagKey).set(Target.OLD);
    }
  }

  @Test
  void member_forgesASwitchAndItsRelease_honestInstancesNeverFollowAndLoseNothing(PostgresPair pair) throws Exception {
    Replicated db = database(pair);
    // The honest instances' flag stays on old throughout: no honest flag asks for this switch.
    List<HikariDataSource> pools = new ArrayList<>();
    List<Workload> loads = new ArrayList<>();
    ScheduledExecutorService beats = Executors.newSingleThreadScheduledExecutor();
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection mallory = as(pair.oldServer(), db.database, MALLORY);
        Connection admin = db.oldDirect()) {
      for (int i = 0; i < 2; i++) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(db.url("cutover.instance=honest" + i, "cutover.gate.max-pause=4s"));
        config.setUsername(db.user());
        config.setMaximumPoolSize(3);
        HikariDataSource pool = new HikariDataSource(config);
        pools.add(pool);
        loads.add(new Workload(pool, 2, i * 10));
      }
      await().atMost(Duration.ofSeconds(30)).until(() -> loads.stream().allMatch(l -> l.commits.get() >= 20));

      // Mallory starts a switch no honest flag asked for, claims its own flag asks for it, and says
      // it is ready (a peer that never got ready would have the honest instances refuse before their gates).
      String id = Coordination.begin(mallory, db.database, "forged", Target.OLD, Target.NEW);
      beats.scheduleWithFixedDelay(() -> {
        try (PreparedStatement ps = mallory.prepareStatement(
            "SELECT * FROM cutover.heartbeat(?, 'mallory', 'new', 'old', 'idle', 5000)")) {
          ps.setString(1, db.database);
          ps.execute();
          Coordination.ready(mallory, db.database, "mallory", id);
        } catch (SQLException e) {
          throw new IllegalStateException(e);
        }
      }, 0, 200, TimeUnit.MILLISECONDS);
      await().atMost(Duration.ofSeconds(20)).until(() -> Coordination.undrained(admin, db.database, id,
          Duration.ofSeconds(5)).equals(List.of("mallory")));

      // The honest instances hold their gates for it; Mallory takes the lead and forges the release.
      assertThat(Coordination.tryLead(mallory, db.database, id)).isTrue();
      String probe = Barrier.write(mallory);
      assertThat((Throwable) catchThrowableOfType(SQLException.class,
          () -> Barrier.writeForSwitch(mallory, db.database, id)))
          .hasMessageContaining("only while the fence it raised stands");
      assertThat((Throwable) catchThrowableOfType(SQLException.class,
          () -> Coordination.release(mallory, db.database, id, probe, "mallory", 0))).hasMessageContaining("refused");
      // Even a release written straight into the tables (as if the checks were bypassed) is not followed.
      try (Statement s = admin.createStatement()) {
        s.execute("UPDATE cutover.switch SET state = 'released', marker = '" + probe + "' WHERE id = '" + id + "'");
      }

      List<SwitchEvent> ended = List.of(events.next(), events.next());
      beats.shutdown();
      assertThat(beats.awaitTermination(5, TimeUnit.SECONDS)).isTrue();
      assertThat(ended).allSatisfy(e -> {
        assertThat(e.outcome()).as(e.summary()).isEqualTo(Outcome.ABORTED);
        assertThat(e.reason()).contains("no decision this instance could verify")
            .contains("a release was published but the fence it raised does not stand");
      });
      assertThat(ended).extracting(SwitchEvent::leader).containsOnly(false);
      assertThat(Fence.isRaised(admin)).isFalse();
      long[] atAbort = Workload.commitsOf(loads);
      await().atMost(Duration.ofSeconds(30)).until(() -> Workload.advanced(loads, atAbort, 20));
      loads.forEach(Workload::close);
      for (Workload load : loads) {
        load.assertIntact(admin);
      }
      assertThat(RouterBean.anyHolding(db.database)).isFalse();
    } finally {
      beats.shutdownNow();
      loads.forEach(Workload::close);
      pools.forEach(HikariDataSource::close);
      CutoverDriver.shutdown(db.database);
    }
  }
}
