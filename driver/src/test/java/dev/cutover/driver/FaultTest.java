package dev.cutover.driver;

import static dev.cutover.flags.launchdarkly.LaunchDarklyPayloads.patch;
import static dev.cutover.flags.launchdarkly.LaunchDarklyPayloads.put;
import static dev.cutover.flags.launchdarkly.LaunchDarklyPayloads.stringFlag;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.cutover.driver.internal.control.Fence;
import dev.cutover.driver.Outcome;
import dev.cutover.driver.SwitchEvent;
import dev.cutover.flags.RoutingFlags;
import dev.cutover.flags.launchdarkly.SseStandIn;
import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension.OwnPair;
import dev.cutover.testkit.ServerProcess;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Parts of the system failing in the middle of a switch. Tests that kill a server have a pair of
 * their own; invariants are checked on what survives.
 */
@LeakCheckedPair
class FaultTest {
  private static final String SCHEMA = "CREATE TABLE note (id serial PRIMARY KEY, body text NOT NULL)";

  @Test
  void newKilledDuringBarrier_switchAbortsAndOldKeepsServing(@OwnPair PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection app = DrainTest.connect(db.url("cutover.barrier.timeout=20s"));
        Connection straggler = DrainTest.connect(db.url("cutover.barrier.timeout=20s"));
        Connection watch = db.oldDirect()) {
      DrainTest.insert(app, "before");
      straggler.setAutoCommit(false);
      DrainTest.insert(straggler, "in flight");
      db.flip(Target.NEW);
      await().atMost(Duration.ofSeconds(10)).until(() -> (Boolean) RouterBean.attribute(db.database, "Holding"));
      db.stopForward(); // the barrier cannot arrive now: the leader waits for it
      straggler.commit();
      await().atMost(Duration.ofSeconds(10)).until(() -> Fence.isRaised(watch));

      pair.newServer().stop();
      SwitchEvent event = events.next();

      assertThat(event.outcome()).isEqualTo(Outcome.ABORTED);
      assertThat(RouterBean.attribute(db.database, "Serving")).isEqualTo("old");
      assertThat(Fence.isRaised(watch)).as("the aborting leader lowered the fence").isFalse();
      DrainTest.insert(app, "after");
      try (Statement s = watch.createStatement();
          ResultSet rs = s.executeQuery("SELECT string_agg(body, ',' ORDER BY id) FROM note")) {
        rs.next();
        assertThat(rs.getString(1)).isEqualTo("before,in flight,after");
      }
    } finally {
      CutoverDriver.shutdown(db.database);
    }
  }

  /**
   * Old crash-restarts (kill -9 of every process, then a start: crash recovery) while a switch has
   * it fenced and waits for the barrier. Before, crash recovery emptied the switch's record (an
   * UNLOGGED table): the abort found nothing to end and left the fence up for ever without a word,
   * and a router started afterwards, its flag at old, took "fenced, no record" for "moved to new"
   * and wrote there, with no barrier and no sequence moved. Now the record survives: the abort
   * lowers the fence, old takes writes again, and a router started afterwards serves old.
   */
  @Test
  void oldCrashRestartedWhileFenced_switchAbortsFenceComesDownAndALaterRouterServesOld(@OwnPair PostgresPair pair)
      throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    ServerProcess old = ServerProcess.of(pair.oldServer(), Files.createTempFile("fault-old-", ".log"));
    // Over 3x what old's kill and crash recovery took on a loaded host (about 4 s from the switch's
    // start to old taking sessions again): the leader must find old back when it gives up the barrier.
    String url = db.url("cutover.barrier.timeout=12s");
    try (SwitchEvents events = new SwitchEvents(db.database)) {
      try (Connection app = DrainTest.connect(url); Connection straggler = DrainTest.connect(url)) {
        DrainTest.insert(app, "before");
        db.awaitReplicated();
        straggler.setAutoCommit(false);
        DrainTest.insert(straggler, "in flight");
        db.flip(Target.NEW);
        await().atMost(Duration.ofSeconds(10)).until(() -> (Boolean) RouterBean.attribute(db.database, "Holding"));
        db.stopForward(); // the barrier cannot arrive now: the leader waits for it, old fenced
        straggler.commit();
        try (Connection watch = db.oldDirect()) {
          await().atMost(Duration.ofSeconds(10)).until(() -> Fence.isRaised(watch));
        }

        old.kill();
        old.restart(Duration.ofSeconds(60));
        SwitchEvent event = events.next();

        assertThat(event.outcome()).as(event.summary()).isEqualTo(Outcome.ABORTED);
        try (Connection watch = db.oldDirect()) {
          assertThat(Fence.isRaised(watch)).as("the abort lowered the fence the crash left standing").isFalse();
        }
        db.flip(Target.OLD);
        // The crash ended every session on old: a fresh one (as a pool would open) through the same router.
        try (Connection fresh = DrainTest.connect(url)) {
          DrainTest.insert(fresh, "after the crash");
          assertThat(DrainTest.sideOf(fresh)).isEqualTo(pair.oldServer().port());
        }
      } finally {
        CutoverDriver.shutdown(db.database);
      }

      try (Connection later = DrainTest.connect(db.url("cutover.instance=started-later"))) {
        DrainTest.insert(later, "written by a router started later");
        assertThat(DrainTest.sideOf(later)).as("its flag says old, and nothing was released to new")
            .isEqualTo(pair.oldServer().port());
        assertThat(RouterBean.attribute(db.database, "Serving")).isEqualTo("old");
      } finally {
        CutoverDriver.shutdown(db.database);
      }
      try (Connection n = db.newDirect(); Statement s = n.createStatement();
          ResultSet rs = s.executeQuery("SELECT string_agg(body, ',' ORDER BY id) FROM note")) {
        rs.next();
        assertThat(rs.getString(1)).as("new holds only what replication brought before it stopped").isEqualTo("before");
      }
    }
  }

  @Test
  void oldKilledDuringDrain_switchAbortsAndNothingIsWrittenToNew(@OwnPair PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection app = DrainTest.connect(db.url("cutover.drain.timeout=1s"));
        Connection straggler = DrainTest.connect(db.url("cutover.drain.timeout=1s"))) {
      DrainTest.insert(app, "before");
      db.awaitReplicated();
      straggler.setAutoCommit(false);
      DrainTest.insert(straggler, "in flight");
      db.flip(Target.NEW);
      await().atMost(Duration.ofSeconds(10)).until(() -> (Boolean) RouterBean.attribute(db.database, "Holding"));

      pair.oldServer().stop();
      SwitchEvent event = events.next();

      assertThat(event.outcome()).isEqualTo(Outcome.ABORTED);
      assertThat(RouterBean.attribute(db.database, "Serving")).isEqualTo("old");
      SQLException e = catchThrowableOfType(SQLException.class, () -> DrainTest.insert(app, "after"));
      assertThat((Throwable) e).as("old is gone: the write fails rather than going to new unproven").isNotNull();
      try (Connection nw = db.newDirect(); Statement s = nw.createStatement();
          ResultSet rs = s.executeQuery("SELECT string_agg(body, ',' ORDER BY id) FROM note")) {
        rs.next();
        assertThat(rs.getString(1)).as("new holds only what replication brought").isEqualTo("before");
      }
    } finally {
      CutoverDriver.shutdown(db.database);
    }
  }

  @Test
  void launchDarklyUnreachableMidSwitch_switchCompletesAndNothingFlipsBack(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    SseStandIn standIn = new SseStandIn(put(stringFlag(1, "old")));
    String url = db.urlWithFlag(Map.of(
        RoutingFlags.PROVIDER, "launchdarkly",
        RoutingFlags.KEY, "app-db-cutover",
        RoutingFlags.LD_STREAM_URI, standIn.baseUrl(),
        RoutingFlags.LD_EVENTS, "false",
        RoutingFlags.LD_RECONNECT_DELAY, "50"));
    try (SwitchEvents events = new SwitchEvents(db.database);
        LivePool live = new LivePool(db, url, Map.of(RoutingFlags.LD_SDK_KEY, "sdk-fault-test"))) {
      live.assertServedBy(pair.oldServer(), "old");
      standIn.send(patch(stringFlag(2, "new")));
      standIn.close(); // LaunchDarkly goes away while the switch runs
      SwitchEvent event = events.next();

      assertThat(event.outcome()).isEqualTo(Outcome.COMPLETED);
      await().atMost(Duration.ofSeconds(10))
          .until(() -> !"VALID".equals(RouterBean.attribute(db.database, "FlagHealth")));
      await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3))
          .until(() -> "new".equals(RouterBean.attribute(db.database, "Serving"))
              && (Long) RouterBean.attribute(db.database, "SwitchesCompleted") == 1);
      live.assertServedBy(pair.newServer(), "new");
    } finally {
      standIn.close();
    }
  }

  @Test
  void fourPoolsOfFifty_switchAtOnce_withoutFailures(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, Workload.SCHEMA, true);
    List<HikariDataSource> pools = new ArrayList<>();
    List<Workload> loads = new ArrayList<>();
    try (SwitchEvents events = new SwitchEvents(db.database)) {
      for (int i = 0; i < 4; i++) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(db.url("cutover.instance=big" + i));
        config.setUsername(db.user());
        config.setMaximumPoolSize(50);
        config.setMinimumIdle(50);
        config.setPoolName("big" + i);
        HikariDataSource pool = new HikariDataSource(config);
        pools.add(pool);
        await().atMost(Duration.ofSeconds(60)).until(() -> pool.getHikariPoolMXBean().getTotalConnections() == 50);
        loads.add(new Workload(pool, 4, i * 10));
      }
      await().atMost(Duration.ofSeconds(30)).until(() -> loads.stream().allMatch(l -> l.commits.get() >= 20));

      db.flip(Target.NEW);
      List<SwitchEvent> ended = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        ended.add(events.next());
      }
      long[] atSwitch = Workload.commitsOf(loads);
      await().atMost(Duration.ofSeconds(60)).until(() -> Workload.advanced(loads, atSwitch, 20));
      loads.forEach(Workload::close);

      assertThat(ended).allSatisfy(e -> assertThat(e.outcome()).as(e.summary()).isEqualTo(Outcome.COMPLETED));
      assertThat(ended).extracting(SwitchEvent::prewarmed).allSatisfy(n -> assertThat(n).isEqualTo(50));
      assertThat(pools).allSatisfy(p -> assertThat(p.getHikariPoolMXBean().getTotalConnections()).isEqualTo(50));
      try (Connection serving = db.newDirect()) {
        for (Workload load : loads) {
          load.assertIntact(serving);
        }
      }
    } finally {
      loads.forEach(Workload::close);
      pools.forEach(HikariDataSource::close);
      CutoverDriver.shutdown(db.database);
    }
  }
}
