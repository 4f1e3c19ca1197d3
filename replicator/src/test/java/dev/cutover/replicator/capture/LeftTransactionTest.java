package dev.cutover.replicator.capture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.apply.Applier;
import dev.cutover.replicator.apply.ApplyProcess;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.status.StatusReport;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import java.sql.Connection;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A transaction left prepared for two-phase commit (a crashed XA manager's branch) while trigger
 * capture runs (review r35 #1): on new, holding a row old's writers update, it stalls the apply's
 * batch, and status names it by its gid, with the remedy.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
class LeftTransactionTest {
  private static final Duration WAIT = Duration.ofSeconds(60);

  @Test
  void status_preparedTransactionOnNewHoldsARowTheApplyUpdates_namesItsGidAndRollbackPrepared(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "left_on_new");
    Replicator r = db.replicator();
    r.start(TriggerCaptureFlow.options(), new CopyProgress(), CopyListener.NONE);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults().withNetworkTimeout(Duration.ofSeconds(2)))) {
      prepare(db.nw(), "xa_left_on_new", "UPDATE counter SET value = value WHERE name = 'c1'");
      try {
        try (Connection o = db.old()) {
          OwnedDatabase.execute(o, "UPDATE counter SET value = value + 1 WHERE name = 'c1'");
        }
        await().atMost(WAIT).untilAsserted(() -> {
          StatusReport.Direction forward = r.status().forward();
          assertThat(forward.state()).isEqualTo("failing");
          assertThat(forward.problems()).anySatisfy(p -> assertThat(p).contains("waits for a lock on new held by prepared transaction"
              + " 'xa_left_on_new' (role " + OwnedDatabase.ROLE).contains("COMMIT PREPARED or ROLLBACK PREPARED it on new"));
        });
      } finally {
        finish(db.nw(), "ROLLBACK PREPARED 'xa_left_on_new'");
      }
      r.awaitCaughtUp(WAIT);
      try (Connection n = db.nw()) {
        assertThat(OwnedDatabase.count(n, "SELECT value FROM counter WHERE name = 'c1'")).isEqualTo(1);
      }
    } finally {
      r.cleanup();
    }
  }

  /** Runs {@code sql} on {@code c} in a transaction left prepared as {@code gid}, and closes {@code c}. */
  private static void prepare(Connection c, String gid, String sql) throws Exception {
    try (c) {
      c.setAutoCommit(false);
      OwnedDatabase.execute(c, sql);
      OwnedDatabase.execute(c, "PREPARE TRANSACTION '" + gid + "'");
      c.setAutoCommit(true);
    }
  }

  /** Runs {@code sql} (COMMIT or ROLLBACK PREPARED) on {@code c}, and closes it. */
  private static void finish(Connection c, String sql) throws Exception {
    try (c) {
      OwnedDatabase.execute(c, sql);
    }
  }
}
