package dev.cutover.replicator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

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
 * Old fails over to a physical standby during the window (review r31): before PostgreSQL 17's
 * failover slots the standby has no logical slots, so the slot that carried old -> new is gone and
 * nothing replicates again. The tests stand for the failover by dropping the slot by hand (its
 * walsender terminated first), which leaves what a promoted standby leaves: old answers, with this
 * migration's control schema and publication, without the slot. Status, catch-up and cleanup must
 * name that and its remedy.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
class OldFailoverTest {
  private static final Duration WAIT = Duration.ofSeconds(60);

  /**
   * Native: the subscription's slot is gone. Before, status and catch-up said only "run cleanup and
   * start again", and cleanup then refused blaming the URLs.
   */
  @Test
  void native_slotGoneAfterFailover_statusCatchUpAndCleanupGiveTheDetach(PostgresPair pair) throws Exception {
    AppDatabase db = AppDatabase.create(pair, "failnative");
    Replicator r = db.replicator();
    ReplicationFlowTest.start(r);
    r.awaitCaughtUp(WAIT);
    Names names = Names.defaultFor(db.name);

    dropSlotAsAFailover(db, names.forwardSlot());

    StatusReport.Direction forward = r.status().forward();
    assertThat(forward.state()).isEqualTo("broken");
    assertThat(forward.problems()).as("%s", forward.problems()).anySatisfy(p -> assertThat(p).contains("failed over")
        .contains(detach(names)).contains("then run `cutover-replicator cleanup`"));
    assertThatThrownBy(() -> r.awaitCaughtUp(Duration.ofSeconds(15))).isInstanceOf(ReplicatorException.class)
        .satisfies(e -> assertThat(((ReplicatorException) e).remedy()).contains(detach(names)).contains("cleanup"));
    assertThatThrownBy(r::cleanup).isInstanceOf(ReplicatorException.class)
        .satisfies(e -> assertThat(((ReplicatorException) e).oneLine()).contains("failed over").contains(detach(names))
            .doesNotContain("are not the two sides").doesNotContain("--new-url"));
  }

  /** The statements that detach the forward subscription from its slot, as the remedies give them. */
  private static String detach(Names names) {
    return "ALTER SUBSCRIPTION \"" + names.forward() + "\" DISABLE; ALTER SUBSCRIPTION \"" + names.forward()
        + "\" SET (slot_name = NONE)";
  }

  /**
   * Drops {@code slot} on old as a failover to a standby without it leaves it: its walsender is
   * terminated first, and the reader reconnecting meanwhile holds it again, so until the drop went through.
   */
  private static void dropSlotAsAFailover(AppDatabase db, String slot) throws Exception {
    try (Connection o = db.old()) {
      await().atMost(WAIT).ignoreExceptions().until(() -> {
        AppDatabase.strings(o, "SELECT pg_terminate_backend(active_pid)::text FROM pg_replication_slots WHERE slot_name = '" + slot
            + "' AND active_pid IS NOT NULL");
        AppDatabase.execute(o, "SELECT pg_drop_replication_slot('" + slot + "')");
        return true;
      });
    }
  }
}
