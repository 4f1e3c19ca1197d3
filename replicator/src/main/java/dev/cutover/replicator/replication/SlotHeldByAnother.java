package dev.cutover.replicator.replication;

import dev.cutover.replicator.apply.RelayProgress;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;

/**
 * A slot of this migration's name that a process holds ({@code pg_replication_slots.active_pid})
 * while nothing this migration records on the other side reads it: no subscription of that name
 * streaming from it, no relay position in it. Names come from the label, and another migration
 * given the same {@code --name} from the same database into another one streams from just such a
 * slot: its holder is all that tells it from an earlier run of this migration, whose cleanup would
 * break the other (review r33). {@code check} reports it, {@code start} and {@code cleanup} refuse.
 * A start of this migration holds it too while it exports the copy's snapshot, moments: cleanup
 * then refuses rather than end that start's session.
 */
public final class SlotHeldByAnother {
  private SlotHeldByAnother() {}

  /**
   * The process holding {@code c}'s slot {@code slot} once {@code wait} has passed (a reader that
   * just stopped lets go of it a moment later), where {@code other} neither subscribes to it under
   * that name nor relays it; else null.
   */
  public static String holder(Connection c, String slot, Connection other, Duration wait) throws SQLException {
    if (slot.equals(ReplicationObjects.subscriptionSlot(other, slot))
        || RelayProgress.read(other).filter(p -> slot.equals(p.slot())).isPresent()) {
      return null;
    }
    return ReplicationObjects.ownSlotHolder(c, slot, wait);
  }

  /**
   * What {@code check} and {@code start} say of {@code c}'s slot {@code slot} that process {@code pid}
   * holds for another migration (with the publication of that name where it exists).
   */
  public static String problem(Connection c, String slot, String pid, Connection other, String otherSide)
      throws SQLException {
    return "replication slot " + slot + (ReplicationObjects.publicationExists(c, slot) ? " (and publication " + slot + ")" : "")
        + " is streaming to another migration: process " + pid + " holds it (pg_replication_slots.active_pid), and "
        + otherSide + " (database " + Sql.string(other, "SELECT current_database()") + ") has no subscription " + slot
        + " streaming from it; they are another migration's given the same --name (or a reader such as pg_recvlogical),"
        + " not objects of an earlier run of this one";
  }

  /** The remedy of {@link #problem}: this migration's label is taken. */
  public static String remedy(String side, String label, String pid) {
    return "give this migration another --name; never run cleanup with --name " + label + " for it, which would remove what the"
        + " other migration streams from (who reads it, on " + side + ": SELECT * FROM pg_stat_activity WHERE pid = " + pid + ")";
  }
}
