package dev.cutover.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.cutover.driver.internal.control.Fence;
import dev.cutover.flags.Target;
import dev.cutover.testkit.PostgresPair;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * A router that closes while its switch waits (review r9 #3): the switch ends there, says the
 * router closed rather than that a timeout ran out or a drain timed out, and nothing moves.
 * Before, a shutdown 1 s into a 40 s barrier wait was reported as "did not reach new within
 * 40000 ms", and one 1 s into the drain rolled the transaction in flight back "still open
 * 8000 ms after the switch began" and completed the switch after {@code shutdown} had returned.
 */
@LeakCheckedPair
class ShutdownMidSwitchTest {
  private static final String SCHEMA = "CREATE TABLE note (id serial PRIMARY KEY, body text NOT NULL)";

  @Test
  void shutdown_whileTheLeaderAwaitsTheBarrier_abortsSayingTheRouterClosed(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (SwitchEvents events = new SwitchEvents(db.database); Connection watch = db.oldDirect()) {
      String url = db.url("cutover.barrier.timeout=40s");
      try (Connection app = DrainTest.connect(url); Connection straggler = DrainTest.connect(url)) {
        DrainTest.insert(app, "before");
        db.awaitReplicated();
        straggler.setAutoCommit(false);
        DrainTest.insert(straggler, "in flight");
        db.flip(Target.NEW); // the probe passes; the drain waits for the straggler
        await().atMost(Duration.ofSeconds(20)).until(() -> (Boolean) RouterBean.attribute(db.database, "Holding"));
        db.stopForward(); // the barrier cannot arrive now: the leader waits for it
        straggler.commit();
        await().atMost(Duration.ofSeconds(20)).until(() -> count(watch, "SELECT count(*) FROM cutover.marker_log") > 0);
      }
      CutoverDriver.shutdown(db.database);
      SwitchEvent event = events.next();

      assertThat(event.outcome()).as(event.summary()).isEqualTo(Outcome.ABORTED);
      assertThat(event.reason()).contains("the router closed").contains("waiting for the barrier")
          .doesNotContain("40000 ms");
      assertThat(Fence.isRaised(watch)).as("the abort lowered the fence").isFalse();
      try (Statement s = watch.createStatement(); ResultSet rs = s.executeQuery("SELECT state, reason FROM cutover.switch")) {
        assertThat(rs.next()).isTrue();
        assertThat(rs.getString(1)).isEqualTo("aborted");
        assertThat(rs.getString(2)).contains("the router closed");
      }
      db.startForward();
    } finally {
      CutoverDriver.shutdown(db.database);
    }
  }

  @Test
  void shutdown_whileTheDrainWaits_abortsWithoutRollingTheTransactionBack(PostgresPair pair) throws Exception {
    Replicated db = Replicated.create(pair, SCHEMA, true);
    try (SwitchEvents events = new SwitchEvents(db.database);
        Connection straggler = DrainTest.connect(db.url("cutover.drain.timeout=30s"))) {
      db.awaitReplicated();
      straggler.setAutoCommit(false);
      DrainTest.insert(straggler, "in flight");
      db.flip(Target.NEW);
      await().atMost(Duration.ofSeconds(20)).until(() -> (Boolean) RouterBean.attribute(db.database, "Holding"));

      CutoverDriver.shutdown(db.database);
      SwitchEvent event = events.next();

      assertThat(event.outcome()).as(event.summary()).isEqualTo(Outcome.ABORTED);
      assertThat(event.reason()).contains("the router closed").contains("draining")
          .doesNotContain("retrying");
      assertThat(event.rolledBack()).isZero();
      try (Connection watch = db.oldDirect()) {
        assertThat(Fence.isRaised(watch)).isFalse();
      }
    } finally {
      CutoverDriver.shutdown(db.database);
    }
  }

  private static long count(Connection c, String sql) throws Exception {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
