package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.cutover.driver.internal.control.Fence;
import dev.cutover.driver.Outcome;
import dev.cutover.driver.SwitchEvent;
import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresPair;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The leader's session dies mid-switch: another instance takes over and finishes the switch. */
@LeakCheckedPair
class LeaderTakeoverTest {

  @Test
  void leaderSessionKilledWhileAwaitingBarrier_anotherInstanceFinishesTheSwitch(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, Workload.SCHEMA, true);
    List<HikariDataSource> pools = new ArrayList<>();
    List<Workload> loads = new ArrayList<>();
    try (SwitchEvents events = new SwitchEvents(db.database); Connection watch = db.oldDirect()) {
      for (int i = 0; i < 2; i++) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(db.url("cutover.instance=t" + i, "cutover.barrier.timeout=20s"));
        config.setUsername(db.user());
        config.setMaximumPoolSize(4);
        HikariDataSource pool = new HikariDataSource(config);
        pools.add(pool);
        loads.add(new Workload(pool, 2, i * 10));
      }
      await().atMost(Duration.ofSeconds(30)).until(() -> loads.stream().allMatch(l -> l.commits.get() >= 20));

      try (Connection straggler = pools.get(0).getConnection()) {
        straggler.setAutoCommit(false);
        try (Statement s = straggler.createStatement()) {
          s.executeUpdate("INSERT INTO booking (writer, seq) VALUES (-1, 1)");
        }
        db.flip(Target.NEW);
        await().atMost(Duration.ofSeconds(10)).until(() -> RouterBean.anyHolding(db.database));
        db.stopForward(); // the leader will wait for a barrier that cannot come yet
        straggler.commit();
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> Fence.isRaised(watch));
      try (Statement s = watch.createStatement(); ResultSet rs = s.executeQuery(
          "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted"
              + " AND classid = " + 0x63757432 + "::oid")) {
        assertThat(rs.next()).as("a leader holds the lock").isTrue();
      }
      db.startForward();

      List<SwitchEvent> ended = List.of(events.next(), events.next());
      long[] atSwitch = Workload.commitsOf(loads);
      await().atMost(Duration.ofSeconds(30)).until(() -> Workload.advanced(loads, atSwitch, 20));
      loads.forEach(Workload::close);

      assertThat(ended).allSatisfy(e -> assertThat(e.outcome()).as(e.summary()).isEqualTo(Outcome.COMPLETED));
      assertThat(ended).filteredOn(SwitchEvent::leader).hasSize(1);
      try (Connection serving = db.newDirect()) {
        for (Workload load : loads) {
          assertThat(load.failures).isEmpty();
          assertThat(load.missingFrom(serving)).isEmpty();
        }
      }
      assertThat(Fence.isRaised(watch)).as("old stays fenced after the switch").isTrue();
    } finally {
      loads.forEach(Workload::close);
      pools.forEach(HikariDataSource::close);
      CutoverDriver.shutdown(db.database);
    }
  }
}
