package dev.cutover.replicator.capture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.cutover.replicator.Failure;
import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.replication.Reverse;
import dev.cutover.replicator.status.StatusReport;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A transaction left prepared for two-phase commit (as a crashed XA manager leaves it) holds a
 * write lock on an application table while {@code start} or {@code reverse} needs the table for a
 * trigger: each is refused naming the side, the table and the transaction, exit 8, and leaves
 * nothing it installed; status then tells what to run again, never to start over.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
class HeldTableTest {

  /**
   * Before, start failed after about 20 s with a bare "canceling statement due to lock timeout
   * (SQLState 55P03)", exit 1, and left the control schema on old.
   */
  @Test
  void start_preparedTransactionHoldsATableOnOld_exit8NamingItAndNoControlSchemaLeft(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "held_start");
    String gid = "xa_" + db.name;
    try (Connection o = db.old()) {
      OwnedDatabase.execute(o, "BEGIN; INSERT INTO scratch VALUES (1000, 'xa'); PREPARE TRANSACTION '" + gid + "'");
      try {
        String out = db.cliExiting(8, "start", "--capture", "triggers");

        assertThat(out).contains("old: could not lock public.scratch to add the control schema's fence trigger")
            .contains("prepared transaction '" + gid + "' of role " + OwnedDatabase.ROLE)
            .contains("COMMIT or ROLLBACK PREPARED");
        try (Connection n = db.nw()) {
          for (Connection c : List.of(o, n)) {
            assertThat(OwnedDatabase.count(c, "SELECT count(*) FROM pg_namespace WHERE nspname = 'cutover'")).isZero();
            assertThat(OwnedDatabase.count(c, "SELECT count(*) FROM pg_trigger WHERE tgname = 'cutover_fence'")).isZero();
          }
        }
      } finally {
        OwnedDatabase.execute(o, "ROLLBACK PREPARED '" + gid + "'");
      }
    }
  }

  /**
   * Before, the refused reverse left new's change log, without triggers or a position, and status
   * called the way back broken: "run `cutover-replicator cleanup` and start again" (throwing away a
   * healthy forward migration) and adopt every table. The same state, left by a reverse that died
   * there, now says to run reverse again, which then arms it.
   */
  @Test
  void reverse_preparedTransactionHoldsATableOnNew_refusedUndoneAndStatusSaysReverseAgain(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "held_reverse");
    Replicator r = db.replicator();
    r.start(TriggerCaptureFlow.options(), new CopyProgress(), CopyListener.NONE);
    String gid = "xa_" + db.name;
    try (Connection o = db.endpoint(Side.OLD).connect(); Connection n = db.endpoint(Side.NEW).connect()) {
      OwnedDatabase.execute(n, "BEGIN; INSERT INTO scratch VALUES (1000, 'xa'); PREPARE TRANSACTION '" + gid + "'");
      try {
        ReplicatorException refused = catchThrowableOfType(ReplicatorException.class,
            () -> CaptureReverse.arm(o, n, false, Duration.ofSeconds(1)));

        assertThat(refused.failure()).isEqualTo(Failure.TIMEOUT);
        assertThat(refused.getMessage()).contains("new: could not lock").contains("prepared transaction '" + gid + "'");
        assertThat(CaptureSchema.installed(n)).as("new's change log").isFalse();
        assertThat(r.status().reverse()).as("no way back, nothing to clean up").isNull();

        // What a reverse killed between new's change log and its triggers leaves.
        CaptureSchema.install(n);
        StatusReport.Direction reverse = r.status().reverse();
        assertThat(reverse.problems()).singleElement().asString().contains("a `reverse` did not finish")
            .contains("run `cutover-replicator reverse` again").doesNotContain("cleanup").doesNotContain("adopt");
      } finally {
        OwnedDatabase.execute(n, "ROLLBACK PREPARED '" + gid + "'");
      }
    }
    r.reverse(new Reverse.Options(Duration.ZERO, Duration.ofSeconds(30)));
    StatusReport.Direction armed = r.status().reverse();
    assertThat(armed.state()).isNotEqualTo("broken");
    assertThat(armed.problems()).noneMatch(p -> p.contains("did not finish"));
  }
}
