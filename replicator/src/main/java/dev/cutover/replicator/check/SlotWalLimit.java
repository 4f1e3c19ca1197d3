package dev.cutover.replicator.check;

import dev.cutover.replicator.Names;
import dev.cutover.replicator.check.Finding.Severity;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Optional;

/**
 * Whether a server that gets one of our slots bounds the WAL the slot may keep. A slot keeps every
 * WAL segment from its {@code restart_lsn} on until its consumer confirms; with {@code
 * max_slot_wal_keep_size = -1} (the default), or before 13 where there is no such setting, an apply
 * stopped for days keeps them until the disk is full, and the server PANICs and cannot restart
 * until room is made (r28: relay, apply stopped, old down). With a limit the server drops the WAL
 * instead and the slot is lost ({@code wal_status} {@code lost}, which status and catch-up report):
 * the migration starts again, but the server runs on.
 */
public final class SlotWalLimit {
  /** The oldest major version with {@code max_slot_wal_keep_size}. */
  public static final int LIMIT_MIN = 13;

  private SlotWalLimit() {}

  /** What confirms the forward slot's WAL on old, as a remedy names it. */
  public static String forwardConsumer(boolean relay, Names names) {
    return relay ? "`cutover-replicator apply`" : "subscription " + names.forward() + " on new";
  }

  /**
   * What {@code c}'s server, side {@code side}, risks for slot {@code slot}, whose WAL only {@code
   * consumer} confirms (as a remedy names it: "`cutover-replicator apply`", "subscription … on new"):
   * a warning without a limit, for the record with one.
   */
  public static Finding finding(Connection c, String side, String slot, String consumer) throws SQLException {
    int major = Sql.majorVersion(c);
    String fills = "while " + consumer + " does not confirm (stopped, failing, or the other side down), slot " + slot
        + " keeps all of " + side + "'s WAL written from then on, and can fill " + side + "'s disk: " + side
        + " then stops (PANIC) and cannot restart until room is made";
    String watch = "`cutover-replicator status` says how much WAL the slot retains, and when it is too much";
    if (major < LIMIT_MIN) {
      return new Finding(Severity.WARNING, side, "slot-wal-limit", "PostgreSQL " + major + " has no max_slot_wal_keep_size: "
          + fills, "keep " + consumer + " running and watch " + side + "'s disk (" + watch + "); from PostgreSQL " + LIMIT_MIN
          + " on, max_slot_wal_keep_size bounds it");
    }
    String limit = Sql.string(c, "SHOW max_slot_wal_keep_size");
    String lost = "past it " + side + " drops that WAL and the slot is lost (`cutover-replicator status` says so): replication"
        + " cannot resume and the migration must start again, but " + side + " keeps running";
    if ("-1".equals(limit)) {
      return new Finding(Severity.WARNING, side, "slot-wal-limit", "max_slot_wal_keep_size is -1 (no limit) on " + side + ": "
          + fills, "on " + side + ", ALTER SYSTEM SET max_slot_wal_keep_size = '…' sized to what its disk can spare beside its"
          + " data (a managed service: its parameter group); SELECT pg_reload_conf(); " + lost + "; and keep " + consumer
          + " running (" + watch + ")");
    }
    return new Finding(Severity.INFO, side, "slot-wal-limit", "max_slot_wal_keep_size is " + limit + " on " + side + ": slot "
        + slot + " keeps at most that much WAL; " + lost, "");
  }

  /** {@link #finding}'s warning, as start prints it, or empty where the server bounds the slot's WAL. */
  public static Optional<String> warning(Connection c, String side, String slot, String consumer) throws SQLException {
    Finding f = finding(c, side, slot, consumer);
    return f.severity() == Severity.WARNING ? Optional.of(f.line()) : Optional.empty();
  }
}
