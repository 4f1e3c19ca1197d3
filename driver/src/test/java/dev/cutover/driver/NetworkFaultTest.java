package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.cutover.driver.internal.control.Fence;
import dev.cutover.driver.Outcome;
import dev.cutover.driver.SwitchEvent;
import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.TcpProxy;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The network path to new goes silent (packets dropped, no RST: a {@link TcpProxy} in front of new
 * that stops forwarding) while a live pool switches: every wait of the switch is still bounded, the
 * switch aborts, old's fence comes down and traffic stays on old with nothing lost.
 */
@LeakCheckedPair
class NetworkFaultTest {
  private static final Duration BARRIER = Duration.ofSeconds(2);
  /** Far above what the switch may take after the stall (barrier timeout and a step's slack), for a busy machine. */
  private static final Duration GENEROUS = BARRIER.plusSeconds(8);

  private static HikariDataSource pool(Replicated db, TcpProxy proxy, String... settings) {
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(db.urlWithNew(proxy.redirect(db.pair.newServer().jdbcUrl(db.database)), settings));
    config.setUsername(db.user());
    config.setMaximumPoolSize(4);
    config.setMinimumIdle(4);
    config.setPoolName("silent-" + db.database + "-" + proxy.port());
    return new HikariDataSource(config);
  }

  /** After the abort: the pool still routes to old, its writers go on there, and nothing they wrote is missing. */
  private static void assertOldServesOn(Replicated db, Workload load, Connection watch) throws Exception {
    assertThat(RouterBean.attribute(db.database, "Serving")).isEqualTo("old");
    long atAbort = load.commits.get();
    await().atMost(Duration.ofSeconds(20)).until(() -> load.commits.get() >= atAbort + 30);
    load.close();
    load.assertIntact(watch);
  }

  @Test
  void newGoesSilentRightAfterTheFence_switchAbortsWithinTheBarrierTimeout_andOldServesOn(PostgresPair pair)
      throws Exception {
    Replicated db = Replicated.create(pair, Workload.SCHEMA, true);
    try (TcpProxy proxy = TcpProxy.in(pair.newServer());
        SwitchEvents events = new SwitchEvents(db.database);
        HikariDataSource pool = pool(db, proxy, "cutover.barrier.timeout=" + BARRIER.toMillis() + "ms",
            "cutover.drain.timeout=10s");
        Workload load = new Workload(pool, 2, 0);
        Connection watch = db.oldDirect();
        Connection outsideWriter = db.oldDirect()) {
      await().atMost(Duration.ofSeconds(30)).until(() -> load.commits.get() >= 30);
      // A writer outside the driver holds the raise (it waits for writers already past the fence),
      // so that the link can go silent between the fence and the barrier.
      outsideWriter.setAutoCommit(false);
      try (Statement s = outsideWriter.createStatement()) {
        s.executeUpdate("INSERT INTO booking (writer, seq) VALUES (-1, 1)");
      }

      db.flip(Target.NEW);
      await().atMost(Duration.ofSeconds(20)).until(() -> Fence.isRaised(watch));
      proxy.stall();
      Instant stalled = Instant.now();
      outsideWriter.commit();
      SwitchEvent event = events.next();

      assertThat(event.outcome()).as(event.summary()).isEqualTo(Outcome.ABORTED);
      assertThat(event.reason()).contains("new database did not answer").contains("barrier")
          .contains("cutover.barrier.timeout");
      assertThat(Duration.between(stalled, event.at())).isLessThan(GENEROUS);
      assertThat(Fence.isRaised(watch)).as("the aborting leader lowered old's fence").isFalse();
      assertOldServesOn(db, load, watch);
    } finally {
      db.flip(Target.OLD);
      CutoverDriver.shutdown(db.database);
    }
  }

  @Test
  void newGoesSilentBeforeTheFlip_switchAbortsBeforeItsGate_andTheEventSaysWhy(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, Workload.SCHEMA, true);
    try (TcpProxy proxy = TcpProxy.in(pair.newServer());
        SwitchEvents events = new SwitchEvents(db.database);
        HikariDataSource pool = pool(db, proxy, "cutover.barrier.timeout=" + BARRIER.toMillis() + "ms");
        Workload load = new Workload(pool, 2, 0);
        Connection watch = db.oldDirect()) {
      await().atMost(Duration.ofSeconds(30)).until(() -> load.commits.get() >= 30);
      proxy.stall();
      Instant stalled = Instant.now();

      db.flip(Target.NEW);
      SwitchEvent event = events.next();

      assertThat(event.outcome()).as(event.summary()).isEqualTo(Outcome.ABORTED);
      assertThat(event.reason()).contains("new database");
      assertThat(event.gateWaits()).as("no transaction was held").isZero();
      assertThat(Duration.between(stalled, event.at())).isLessThan(GENEROUS);
      assertThat(Fence.isRaised(watch)).isFalse();
      assertOldServesOn(db, load, watch);
    } finally {
      db.flip(Target.OLD);
      CutoverDriver.shutdown(db.database);
    }
  }

  @Test
  void newGoesSilentWhileTheSwitchProbesReplication_switchAbortsBeforeItsGate_andSaysSo(PostgresPair pair)
      throws Exception {
    Replicated db = Replicated.create(pair, Workload.SCHEMA, true);
    try (TcpProxy proxy = TcpProxy.in(pair.newServer());
        SwitchEvents events = new SwitchEvents(db.database);
        HikariDataSource pool = pool(db, proxy, "cutover.barrier.timeout=" + BARRIER.toMillis() + "ms");
        Workload load = new Workload(pool, 2, 0);
        Connection watch = db.oldDirect()) {
      await().atMost(Duration.ofSeconds(30)).until(() -> load.commits.get() >= 30);
      db.stopForward(); // the probe keeps polling new until its timeout: the link goes silent meanwhile

      db.flip(Target.NEW);
      await().atMost(Duration.ofSeconds(20)).until(() -> "probing replication".equals(
          RouterBean.attribute(db.database, "Phase")));
      proxy.stall();
      SwitchEvent event = events.next();

      assertThat(event.outcome()).as(event.summary()).isEqualTo(Outcome.ABORTED);
      assertThat(event.reason()).contains("new database did not answer").contains("probing replication")
          .contains("before the gate closed");
      assertThat(event.gateWaits()).isZero();
      assertOldServesOn(db, load, watch);
      db.startForward();
    } finally {
      db.flip(Target.OLD);
      CutoverDriver.shutdown(db.database);
    }
  }

  /**
   * New goes silent during the hand-over, while the switch takes a session's advisory lock on new on
   * a connection opened ahead with the application's settings (no socket timeout). The gate must
   * not stay closed past {@code cutover.gate.max-pause}: before, the watchdog aborted only the
   * switch's own connections and the switch stayed blocked on that one until new answered again.
   */
  @Test
  void newGoesSilentDuringTheHandOver_switchAbortsWithinTheMaxPause_andOldServesOn(PostgresPair pair)
      throws Exception {
    Replicated db = Replicated.create(pair, Workload.SCHEMA, true);
    Duration maxPause = Duration.ofSeconds(6);
    try (TcpProxy proxy = TcpProxy.in(pair.newServer());
        SwitchEventQueue events = new SwitchEventQueue(db.database);
        Connection holder = DrainTest.connect(appUrl(db, proxy, maxPause));
        Connection busy = DrainTest.connect(appUrl(db, proxy, maxPause));
        Connection app = DrainTest.connect(appUrl(db, proxy, maxPause));
        Connection watch = db.oldDirect()) {
      try (Statement s = holder.createStatement()) {
        s.execute("SELECT pg_advisory_lock(4242)"); // the hand-over takes it on new
      }
      busy.setAutoCommit(false);
      try (Statement s = busy.createStatement()) {
        s.execute("SELECT 1"); // holds the drain, so that new goes silent inside it
      }

      db.flip(Target.NEW);
      await().atMost(Duration.ofSeconds(20)).until(() -> "draining".equals(RouterBean.attribute(db.database, "Phase")));
      proxy.stall();
      Instant stalled = Instant.now();
      busy.commit(); // the drain ends; the hand-over now waits on silent new
      SwitchEvent event = events.next(maxPause.plus(GENEROUS));

      assertThat(event).as("the switch ended within cutover.gate.max-pause and a margin").isNotNull();
      System.out.println("[switch] " + event.summary());
      assertThat(event.outcome()).as(event.summary()).isEqualTo(Outcome.ABORTED);
      assertThat(event.reason()).contains("not released within").contains("advisory locks");
      assertThat(Duration.between(stalled, event.at())).isLessThan(maxPause.plus(GENEROUS));
      assertThat(Fence.isRaised(watch)).isFalse();
      assertThat(RouterBean.attribute(db.database, "Serving")).isEqualTo("old");
      for (Connection c : List.of(app, busy, holder)) {
        assertThat(DrainTest.sideOf(c)).as("the gate is open and traffic stays on old").isEqualTo(pair.oldServer().port());
      }
      try (Statement s = holder.createStatement(); java.sql.ResultSet rs = s.executeQuery("SELECT pg_advisory_unlock(4242)")) {
        rs.next();
        assertThat(rs.getBoolean(1)).as("the holder still holds its lock, on old").isTrue();
      }
    } finally {
      db.flip(Target.OLD);
      CutoverDriver.shutdown(db.database);
    }
  }

  /**
   * After a completed switch old goes silent, and a pooled connection that has not moved yet is
   * used: its move reads its session state on old, which no longer answers. The call fails within
   * {@code cutover.barrier.timeout} with 08003 naming old and the remedy (before, it hung for as
   * long as old was silent), and the pool's next connection runs on new.
   */
  @Test
  void oldGoesSilentAfterTheSwitch_connectionNotMovedYetFailsWithinTheBarrierTimeout_andThePoolGoesOnOnNew(
      PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, Workload.SCHEMA, true);
    try (TcpProxy proxy = TcpProxy.in(pair.oldServer());
        SwitchEvents events = new SwitchEvents(db.database);
        Connection watch = db.oldDirect()) {
      HikariConfig config = new HikariConfig();
      config.setJdbcUrl(db.urlVia(proxy.redirect(pair.oldServer().jdbcUrl(db.database)),
          pair.newServer().jdbcUrl(db.database), "cutover.barrier.timeout=" + BARRIER.toMillis() + "ms"));
      config.setUsername(db.user());
      config.setMaximumPoolSize(1);
      config.setPoolName("silent-old-" + db.database);
      try (HikariDataSource pool = new HikariDataSource(config)) {
        Connection unmoved = pool.getConnection();
        assertThat(DrainTest.sideOf(unmoved)).isEqualTo(pair.oldServer().port());

        db.flip(Target.NEW);
        assertThat(events.next().outcome()).isEqualTo(Outcome.COMPLETED);
        proxy.stall();
        Instant stalled = Instant.now();
        CompletableFuture<Integer> use = CompletableFuture.supplyAsync(() -> {
          try {
            return DrainTest.sideOf(unmoved);
          } catch (java.sql.SQLException e) {
            throw new java.util.concurrent.CompletionException(e);
          }
        });

        assertThatThrownBy(() -> use.get(BARRIER.plus(GENEROUS).toMillis(), TimeUnit.MILLISECONDS))
            .as("fails rather than hangs").isInstanceOf(ExecutionException.class).cause()
            .isInstanceOf(java.sql.SQLException.class)
            .hasMessageContaining("session state could not be read on the old database")
            .hasMessageContaining("did not answer within " + BARRIER.toMillis() + " ms (cutover.barrier.timeout)")
            .hasMessageContaining("close it and take another")
            .satisfies(e -> assertThat(((java.sql.SQLException) e).getSQLState()).isEqualTo("08003"));
        assertThat(Duration.between(stalled, Instant.now())).isLessThan(BARRIER.plus(GENEROUS));
        unmoved.close(); // the pool evicts it (SQLState 08...)
        try (Connection next = pool.getConnection()) {
          assertThat(DrainTest.sideOf(next)).isEqualTo(pair.newServer().port());
        }
      }
    } finally {
      db.flip(Target.OLD);
      CutoverDriver.shutdown(db.database);
    }
  }

  private static String appUrl(Replicated db, TcpProxy proxy, Duration maxPause) {
    return db.urlWithNew(proxy.redirect(db.pair.newServer().jdbcUrl(db.database)), "cutover.barrier.timeout="
        + BARRIER.toMillis() + "ms", "cutover.drain.timeout=5s", "cutover.gate.max-pause=" + maxPause.toMillis() + "ms");
  }

  /**
   * Torture B3: the leader's link to new is reset while it waits for the barrier, then replication
   * resumes. The leader aborts while it still holds the lock, so no other instance can take over a
   * switch that is ending: afterwards old is unfenced and every instance serves it (no split).
   */
  @Test
  void leadersLinkToNewIsCutWhileItAwaitsTheBarrier_noOtherInstanceCompletesTheSwitch(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, Workload.SCHEMA, true);
    try (TcpProxy link0 = TcpProxy.in(pair.newServer());
        TcpProxy link1 = TcpProxy.in(pair.newServer());
        SwitchEvents events = new SwitchEvents(db.database);
        HikariDataSource i0 = pool(db, link0, "cutover.instance=i0", "cutover.barrier.timeout=20s",
            "cutover.drain.timeout=20s");
        HikariDataSource i1 = pool(db, link1, "cutover.instance=i1", "cutover.barrier.timeout=20s",
            "cutover.drain.timeout=20s");
        Workload load0 = new Workload(i0, 2, 0);
        Workload load1 = new Workload(i1, 2, 10);
        Connection watch = db.oldDirect();
        Connection outsideWriter = db.oldDirect()) {
      await().atMost(Duration.ofSeconds(30)).until(() -> load0.commits.get() >= 20 && load1.commits.get() >= 20);
      // A writer outside the driver holds the raise, so that replication stops between the probe and the barrier.
      outsideWriter.setAutoCommit(false);
      try (Statement s = outsideWriter.createStatement()) {
        s.executeUpdate("INSERT INTO booking (writer, seq) VALUES (-1, 1)");
      }

      db.flip(Target.NEW);
      await().atMost(Duration.ofSeconds(20)).until(() -> Fence.isRaised(watch));
      db.stopForward();
      outsideWriter.commit(); // the raise completes; the leader now waits for a barrier that cannot come
      String leader = db.awaitLeaderAtTheBarrier(watch);
      (leader.startsWith("i0#") ? link0 : link1).cut();
      db.startForward(); // a successor could now finish the switch, if it were allowed to take it over
      List<SwitchEvent> ended = List.of(events.next(), events.next());

      assertThat(ended).allSatisfy(e -> assertThat(e.outcome()).as(e.summary()).isEqualTo(Outcome.ABORTED));
      assertThat(Fence.isRaised(watch)).isFalse();
      for (HikariDataSource pool : List.of(i0, i1)) {
        try (Connection c = pool.getConnection()) {
          assertThat(DrainTest.sideOf(c)).isEqualTo(pair.oldServer().port());
        }
      }
      long[] at = Workload.commitsOf(List.of(load0, load1));
      await().atMost(Duration.ofSeconds(20)).until(() -> Workload.advanced(List.of(load0, load1), at, 20));
      load0.close();
      load1.close();
      load0.assertIntact(watch);
      load1.assertIntact(watch);
    } finally {
      db.flip(Target.OLD);
      CutoverDriver.shutdown(db.database);
    }
  }

  /**
   * r23: the leader's link to old goes silent (no reset) after its fence stands and before its
   * release, as for a frozen JVM or a paused container: its session stays alive on old with the
   * leader's lock, and used to keep old fenced for as long as the link stayed silent (every write
   * of the service refused), the follower's abort refused as "another session leads". The
   * follower, its own deadline past and the leader's heartbeat stale, ends the stalled leader's
   * session and aborts: old's fence comes down within the switch's timeouts and the follower writes
   * there again. The leader, back, neither lowers a fence nor routes to new: nothing is lost.
   */
  @Test
  void leadersLinkToOldGoesSilentAfterTheFence_followerEndsTheStalledLeader_andOldIsWritableWithinTheMaxPause(
      PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, Workload.SCHEMA, true);
    String oldUrl = pair.oldServer().jdbcUrl(db.database);
    String newUrl = pair.newServer().jdbcUrl(db.database);
    String[] settings = {"cutover.barrier.timeout=30s", "cutover.drain.timeout=2s", "cutover.gate.max-pause=10s"};
    try (TcpProxy link0 = TcpProxy.in(pair.oldServer());
        TcpProxy link1 = TcpProxy.in(pair.oldServer());
        SwitchEvents events = new SwitchEvents(db.database);
        HikariDataSource i0 = pool(db.urlVia(link0.redirect(oldUrl), newUrl, with(settings, "cutover.instance=s0")), db,
            "s0");
        HikariDataSource i1 = pool(db.urlVia(link1.redirect(oldUrl), newUrl, with(settings, "cutover.instance=s1")), db,
            "s1");
        Workload load0 = new Workload(i0, 2, 0);
        Workload load1 = new Workload(i1, 2, 10);
        Connection watch = db.oldDirect();
        Connection outsideWriter = db.oldDirect()) {
      await().atMost(Duration.ofSeconds(30)).until(() -> load0.commits.get() >= 20 && load1.commits.get() >= 20);
      outsideWriter.setAutoCommit(false);
      try (Statement s = outsideWriter.createStatement()) {
        s.executeUpdate("INSERT INTO booking (writer, seq) VALUES (-1, 1)");
      }
      long newEpoch = epochOf(db.newDirect());
      db.flip(Target.NEW);
      await().atMost(Duration.ofSeconds(20)).until(() -> Fence.isRaised(watch));
      db.stopForward(); // the barrier cannot arrive: the leader waits behind its fence
      outsideWriter.commit();
      String leader = db.awaitLeaderAtTheBarrier(watch);
      boolean zeroLeads = leader.startsWith("s0#");
      TcpProxy leadersLink = zeroLeads ? link0 : link1;
      Workload followersLoad = zeroLeads ? load1 : load0;
      HikariDataSource followersPool = zeroLeads ? i1 : i0;
      leadersLink.stall();
      Instant stalled = Instant.now();

      SwitchEvent followers = events.next();
      assertThat(followers.instance()).as(followers.summary()).isNotEqualTo(leader.substring(0, 2));
      assertThat(followers.outcome()).as(followers.summary()).isEqualTo(Outcome.ABORTED);
      await("old's fence, held up by the stalled leader's session, comes down").atMost(Duration.ofSeconds(25))
          .until(() -> !Fence.isRaised(watch));
      assertThat(Duration.between(stalled, Instant.now())).as("old writable again within the maximum pause and the"
          + " liveness limit").isLessThan(Duration.ofSeconds(20));
      db.flip(Target.OLD); // no retry while the leader is away
      try (Connection c = followersPool.getConnection()) {
        assertThat(DrainTest.sideOf(c)).isEqualTo(pair.oldServer().port());
      }
      long atAbort = followersLoad.commits.get();
      await().atMost(Duration.ofSeconds(20)).until(() -> followersLoad.commits.get() >= atAbort + 20);

      leadersLink.resume();
      SwitchEvent leaders = events.next();
      assertThat(leaders.outcome()).as(leaders.summary()).isEqualTo(Outcome.ABORTED);
      assertThat(Fence.isRaised(watch)).as("old's fence stays down").isFalse();
      for (HikariDataSource pool : List.of(i0, i1)) {
        await().atMost(Duration.ofSeconds(20)).ignoreExceptions().until(() -> {
          try (Connection c = pool.getConnection()) {
            return DrainTest.sideOf(c) == pair.oldServer().port();
          }
        });
      }
      load0.close();
      load1.close();
      followersLoad.assertIntact(watch);
      assertThat((zeroLeads ? load0 : load1).missingFrom(watch)).as("the leader's acknowledged writes").isEmpty();
      assertThat(epochOf(db.newDirect())).as("new was never opened").isEqualTo(newEpoch);
    } finally {
      db.flip(Target.OLD);
      CutoverDriver.shutdown(db.database);
    }
  }

  private static long epochOf(Connection direct) throws Exception {
    try (direct; Statement s = direct.createStatement(); ResultSet rs = s.executeQuery("SELECT cutover.epoch()")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private static String[] with(String[] settings, String more) {
    String[] all = java.util.Arrays.copyOf(settings, settings.length + 1);
    all[settings.length] = more;
    return all;
  }

  private static HikariDataSource pool(String url, Replicated db, String name) {
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(url);
    config.setUsername(db.user());
    config.setMaximumPoolSize(4);
    config.setMinimumIdle(4);
    config.setPoolName("stalled-" + db.database + "-" + name);
    return new HikariDataSource(config);
  }
}
