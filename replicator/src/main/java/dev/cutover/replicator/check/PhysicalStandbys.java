package dev.cutover.replicator.check;

import dev.cutover.replicator.Names;
import dev.cutover.replicator.check.Finding.Severity;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * Whether old has physical standbys that a failover would promote without this migration's slot.
 * Before PostgreSQL 17 a logical slot lives on the primary alone; from 17 a standby keeps a copy
 * only of a failover slot, and only where it synchronizes slots. Promoted, such a standby has no
 * slot: replication cannot resume, and the migration is cleaned up and started again ({@code
 * OldFailoverTest} shows what status and cleanup then say). Trigger capture's change log is
 * replicated with the data, so it survives; this concerns the engines that keep a slot on old.
 *
 * <p>A physical standby is a walsender of {@code pg_stat_replication} that holds no logical slot.
 * A role without {@code pg_read_all_stats} (or {@code pg_monitor}) sees only their process ids
 * and application names there: it cannot tell a standby from a base backup in progress, and says
 * so rather than guess.
 */
public final class PhysicalStandbys {
  /** The oldest major version whose standbys can keep a copy of a logical slot: start makes old's a failover slot there. */
  public static final int FAILOVER_SLOTS_MIN = 17;

  /** One walsender per row: application_name, client address, state (null where this role may not read it), physical slot. */
  private static final String WALSENDERS = "SELECT r.application_name, host(r.client_addr), r.state,"
      + " (SELECT p.slot_name::text FROM pg_replication_slots p WHERE p.active_pid = r.pid AND p.slot_type = 'physical')"
      + " FROM pg_stat_replication r WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots s WHERE s.active_pid = r.pid"
      + " AND s.slot_type = 'logical') AND r.state IS DISTINCT FROM 'backup' ORDER BY r.application_name, r.pid";

  private PhysicalStandbys() {}

  /**
   * A warning naming old's physical standbys, each of which a failover would promote without the
   * forward slot of {@code names}, consumed by the relay ({@code relay}) or by new's subscription;
   * empty where old has none connected.
   */
  static List<Finding> findings(Connection old, Names names, boolean relay) throws SQLException {
    String slot = names.forwardSlot();
    List<String> seen = new ArrayList<>();
    List<String> unreadable = new ArrayList<>();
    for (String[] w : Sql.rows(old, WALSENDERS)) {
      String name = "'" + w[0] + "'";
      if (w[2] == null) {
        unreadable.add(name);
      } else {
        seen.add(name + " (" + (w[1] == null ? "local socket" : w[1]) + ", " + w[2]
            + (w[3] == null ? ", no replication slot" : ", replication slot " + w[3]) + ")");
      }
    }
    List<Finding> out = new ArrayList<>();
    int major = Sql.majorVersion(old);
    String loses = "if old fails over to " + (seen.size() + unreadable.size() == 1 ? "it" : "one of them") + " during the window,"
        + " slot " + slot + " is gone there: " + SlotWalLimit.forwardConsumer(relay, names) + " cannot resume, and the"
        + " migration must be cleaned up and started again (`cutover-replicator status` says so)";
    String remedy = major < FAILOVER_SLOTS_MIN
        ? "a failover of old during the window means `cutover-replicator cleanup` and start again; or use --capture triggers,"
            + " which survives it (its change log is replicated with the data)"
        : "start makes " + slot + " a failover slot; let the standby keep a copy: on old, synchronized_standby_slots ="
            + " '<the standby's physical slot>' (SELECT pg_reload_conf()); on the standby, primary_slot_name = '<that slot>',"
            + " hot_standby_feedback = on, sync_replication_slots = on and dbname in primary_conninfo; or use --capture triggers,"
            + " which survives a failover without any of it";
    String why = major < FAILOVER_SLOTS_MIN
        ? "PostgreSQL " + major + " keeps logical slots on the primary only, so "
        : "PostgreSQL " + major + " copies a logical slot to a standby only where the standby synchronizes slots, so unless this"
            + " one does, ";
    if (!seen.isEmpty()) {
      out.add(new Finding(Severity.WARNING, "old", "physical-standby", "old has " + (seen.size() == 1 ? "a physical standby: "
          : seen.size() + " physical standbys: ") + String.join(", ", seen) + "; " + why + loses, remedy));
    }
    if (!unreadable.isEmpty()) {
      out.add(new Finding(Severity.WARNING, "old", "physical-standby", "old has " + unreadable.size() + " physical walsender(s) ("
          + String.join(", ", unreadable) + ") whose state this role may not read (it lacks pg_read_all_stats or pg_monitor), so"
          + " check cannot tell a physical standby from a base backup in progress; for a standby, " + why + loses,
          "run check as a role with pg_monitor to tell; for a standby: " + remedy));
    }
    return out;
  }

  /** {@link #findings}, as start prints its warnings. */
  public static List<String> warnings(Connection old, Names names, boolean relay) throws SQLException {
    return findings(old, names, relay).stream().map(Finding::line).toList();
  }
}
