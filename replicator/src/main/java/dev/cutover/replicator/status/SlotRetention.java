package dev.cutover.replicator.status;

import dev.cutover.replicator.check.SlotWalLimit;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Optional;

/**
 * Whether a slot keeps more of its source's WAL than it should, as a problem with its remedy. What
 * is too much: with {@code max_slot_wal_keep_size} set (13+), half of it, past which the slot is
 * that much nearer being lost; without (-1, or before 13), {@code max_wal_size}, which bounds
 * {@code pg_wal} but for slots (13+ says {@code wal_status} {@code extended} there): from then on
 * the slot alone makes {@code pg_wal} grow, until the source's disk is full and the source stops,
 * unable to restart until room is made (r28: relay, apply stopped, old PANICked; status had said
 * only "start it"). Measured from {@code restart_lsn}, the oldest WAL the slot keeps, not from what
 * the target confirmed.
 */
final class SlotRetention {
  private SlotRetention() {}

  /**
   * The problem of {@code slot} on {@code source} (side {@code sourceLabel}) where it retains too
   * much WAL, with {@code remedy} (what gets its consumer confirming again); empty where it does not,
   * or where it is lost or about to be ({@code lost}, {@code unreserved}), which are problems of their own.
   */
  static Optional<String> problem(Connection source, String sourceLabel, StatusReport.Slot slot, String remedy) throws SQLException {
    if (slot == null || slot.retainedBytes() == null || "lost".equals(slot.walStatus()) || "unreserved".equals(slot.walStatus())) {
      return Optional.empty();
    }
    int major = Sql.majorVersion(source);
    boolean limited = major >= SlotWalLimit.LIMIT_MIN;
    String[] sizes = Sql.rows(source, "SELECT s.wal, s.slot, pg_catalog.pg_size_pretty(?::bigint), pg_catalog.pg_size_pretty(s.wal),"
        + " pg_catalog.pg_size_pretty(GREATEST(s.slot, 0)) FROM (SELECT"
        + " pg_catalog.pg_size_bytes(pg_catalog.current_setting('max_wal_size')) AS wal, "
        + (limited ? "pg_catalog.pg_size_bytes(pg_catalog.current_setting('max_slot_wal_keep_size'))" : "-1::bigint")
        + " AS slot) s", slot.retainedBytes()).get(0);
    long maxWal = Long.parseLong(sizes[0]);
    long limit = Long.parseLong(sizes[1]);
    String retains = "slot " + slot.name() + " on " + sourceLabel + " retains " + sizes[2] + " of " + sourceLabel
        + "'s WAL (from its restart_lsn" + (slot.walStatus() == null ? "" : ", wal_status " + slot.walStatus()) + ")";
    if (limit >= 0) {
      if (slot.retainedBytes() <= limit / 2) {
        return Optional.empty();
      }
      return Optional.of(retains + ", more than half of max_slot_wal_keep_size (" + sizes[4] + "): once it retains"
          + " that much, " + sourceLabel + " drops the WAL and the slot is lost, replication cannot resume and the migration"
          + " must start again; " + remedy);
    }
    if (slot.retainedBytes() <= maxWal) {
      return Optional.empty();
    }
    return Optional.of(retains + ", more than max_wal_size (" + sizes[3] + "), and "
        + (limited ? "max_slot_wal_keep_size is -1 (no limit)" : "PostgreSQL " + major + " has no max_slot_wal_keep_size")
        + ": it grows until " + sourceLabel + "'s disk is full, and " + sourceLabel + " then stops (PANIC) and cannot restart"
        + " until room is made; " + remedy + (limited ? "; and bound it: ALTER SYSTEM SET max_slot_wal_keep_size = '…' on "
        + sourceLabel + ", sized to what its disk can spare (past it the slot is lost and the migration must start again, but "
        + sourceLabel + " runs on); SELECT pg_reload_conf()" : ""));
  }
}
