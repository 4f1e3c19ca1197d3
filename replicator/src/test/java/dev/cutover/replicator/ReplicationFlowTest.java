package dev.cutover.replicator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.cutover.driver.control.SequenceMove;
import dev.cutover.replicator.replication.Heartbeat;
import dev.cutover.replicator.replication.HeartbeatWriter;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.testkit.PostgresPair;
import java.sql.Connection;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * {@link ReplicationFlow}'s tests at the build's default versions (12 → 17 unless {@code
 * -Dcutover.test.old/new} say otherwise), and those of the flow whose path is the same on 16 → 18
 * (the heartbeat's gap check on new, moving sequences), run here only.
 */
class ReplicationFlowTest extends ReplicationFlow {

  /**
   * New lost transactions it had applied and confirmed to old's slot (as a failover to an async
   * standby that was behind does): the subscription resumes from its origin's position, old's slot
   * streams from its confirmed point, and everything between is skipped. Simulated by lowering
   * new's copy of old's beat counter while the subscription is stopped: the next beat (catch-up's
   * own, no writer runs any more) arrives with a gap, the apply stops there with an error that
   * says so, and catch-up never reports caught up (before, the row after the gap arrived and
   * catch-up passed).
   */
  @Test
  void heartbeat_targetLostBeatsItHadConfirmed_applyStopsAtTheGapAndCatchUpNeverPasses(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "beatgap");
    Replicator r = db.replicator();
    start(r);
    try (Connection o = db.old(); Connection n = db.nw()) {
      try (HeartbeatWriter beat = r.heartbeat(Side.OLD, Duration.ofMillis(50))) {
        await().atMost(CATCH_UP).until(() -> Heartbeat.read(n, Side.OLD).map(Heartbeat.Beat::beats).orElse(0L) >= 5);
      }
      r.awaitCaughtUp(CATCH_UP);
      String sub = r.names().forward();
      AppDatabase.execute(n, "ALTER SUBSCRIPTION " + sub + " DISABLE");
      await().atMost(CATCH_UP).until(() -> AppDatabase.count(o, "SELECT count(*) FROM pg_replication_slots"
          + " WHERE slot_name = '" + r.names().forwardSlot() + "' AND active") == 0);
      // As after a failover to a standby that missed the last beats: new holds fewer than it confirmed.
      AppDatabase.execute(n, "SET session_replication_role = origin;"
          + " UPDATE cutover.replication_heartbeat SET beats = beats - 3 WHERE origin = 'old'; RESET session_replication_role");
      AppDatabase.execute(n, "ALTER SUBSCRIPTION " + sub + " ENABLE");
      // No writer beats now: catch-up's own beat is the one that arrives with the gap.
      assertThatThrownBy(() -> r.awaitCaughtUp(Duration.ofSeconds(5)))
          .as("catch-up must not pass a gap in the beats")
          .isInstanceOfSatisfying(ReplicatorException.class, e -> assertThat(e.failure()).isEqualTo(Failure.TIMEOUT));
      AppDatabase.execute(o, "INSERT INTO customer (id, email) VALUES (900301, 'after-the-gap@example.com')");
      assertThatThrownBy(() -> r.awaitCaughtUp(Duration.ofSeconds(3)))
          .as("the apply retries the gap and never passes it")
          .isInstanceOfSatisfying(ReplicatorException.class, e -> assertThat(e.failure()).isEqualTo(Failure.TIMEOUT));
      if (Sql.majorVersion(n) >= 15) {
        await().atMost(CATCH_UP).until(() -> AppDatabase.count(n, "SELECT coalesce(sum(apply_error_count), 0)"
            + " FROM pg_stat_subscription_stats WHERE subname = '" + sub + "'") > 0);
        assertThat(r.status().forward().problems()).anyMatch(p -> p.contains("apply error"));
      }
      assertThat(AppDatabase.count(n, "SELECT count(*) FROM customer WHERE id = 900301"))
          .as("nothing after the gap is applied").isZero();
      assertThat(Heartbeat.read(n, Side.OLD).orElseThrow().beats()).isLessThan(Heartbeat.read(o, Side.OLD).orElseThrow().beats() - 1);
    }
  }

  @Test
  void sequences_afterStart_moveNewPastOld(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "sequences");
    Replicator r = db.replicator();
    start(r);
    SequenceMove.Result result = r.sequences(Side.OLD, 1000, Duration.ofSeconds(30));
    assertThat(result.missing()).isEmpty();
    assertThat(result.moved()).isGreaterThanOrEqualTo(3);
    try (Connection o = db.old(); Connection n = db.nw()) {
      long oldValue = AppDatabase.count(o, "SELECT last_value FROM customer_id_seq");
      assertThat(AppDatabase.count(n, "SELECT last_value FROM customer_id_seq")).isEqualTo(oldValue + 1000);
      assertThat(AppDatabase.count(n, "SELECT nextval('event_id_seq')")).isGreaterThan(20_000);
    }
  }
}
