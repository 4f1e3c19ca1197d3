package dev.cutover.driver.internal.control;

import dev.cutover.common.Quoting;
import dev.cutover.flags.Target;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.Optional;

/**
 * What carries replication into a switch's target, as the replicator armed it there ({@code
 * cutover.way_in}): a subscription, a relay position or trigger capture's apply position, and
 * whether something applies now. Read only when a probe did not arrive, to word the remedy from
 * what is armed rather than from which way the switch goes: "arm reverse replication" is wrong once
 * the way back is armed and only its {@code cutover-replicator apply} is missing.
 *
 * @param engine {@code subscription}, {@code relay} or {@code capture}; {@code null} when the
 *     replicator armed nothing into the target (or another tool replicates)
 * @param name the subscription's or the relay slot's name
 * @param enabled whether the subscription is enabled
 * @param applying the subscription's apply worker runs, or an apply process holds the way's lock
 * @param appliedAt when a relay's or capture's position last moved (the target's clock)
 * @param failure what the apply process noted of its last failed batch, or null; it begins with {@link
 *     #STOPPED} where the apply stopped for good
 * @param goneSlot the subscription's slot, where the source has no slot of that name (it failed over
 *     or was restored), else null
 * @param applyErrors how often the subscription's apply worker failed since its statistics were reset
 *     ({@code pg_stat_subscription_stats.apply_error_count}, PostgreSQL 15+), else null
 */
public record WayIn(String engine, String name, Boolean enabled, boolean applying, Instant appliedAt, String failure,
    Instant failedAt, String goneSlot, Long applyErrors) {
  /**
   * How the replicator's note of an apply that stopped for good begins ({@code cutover.apply_failure}):
   * its position cannot resume (the source's slot gone, its log trimmed past it, the source came back
   * behind it), so no apply will carry the way again, and the writes made on the source since are
   * lost to a forced switch.
   */
  public static final String STOPPED = "stopped for good: ";
  private static final String UNDEFINED_FUNCTION = "42883";
  private static final String INSUFFICIENT_PRIVILEGE = "42501";

  /**
   * Reads what carries replication into {@code target}, the database of side {@code into}, from
   * {@code source}, which is asked whether a subscription's slot is still there.
   *
   * @return empty where the control schema predates {@code cutover.way_in} (or the role may not call it)
   */
  public static Optional<WayIn> read(Connection target, Connection source, Target into) throws SQLException {
    try (PreparedStatement ps = target.prepareStatement("SELECT * FROM cutover.way_in(?)")) {
      ps.setString(1, into == Target.NEW ? "forward" : "reverse");
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        String engine = rs.getString("engine");
        String name = rs.getString("object_name");
        boolean subscription = "subscription".equals(engine);
        return Optional.of(new WayIn(engine, name, (Boolean) rs.getObject("enabled"), rs.getBoolean("applying"),
            instant(rs.getTimestamp("applied_at")), rs.getString("failure"), instant(rs.getTimestamp("failed_at")),
            subscription ? goneSlot(target, source, name) : null, subscription ? applyErrors(target, name) : null));
      }
    } catch (SQLException e) {
      if (UNDEFINED_FUNCTION.equals(e.getSQLState()) || INSUFFICIENT_PRIVILEGE.equals(e.getSQLState())) {
        return Optional.empty();
      }
      throw e;
    }
  }

  /**
   * What to do so that replication from {@code from} delivers to {@code to}, for a switch refused at
   * its probe; {@code way} empty when the control schema could not say. {@code cameBack}: the
   * control schema records a released switch of the service that left {@code to}, or one that left
   * {@code from}, which serves again: a switch to new then follows a flip back, and old → new is
   * armed again by {@code cutover-replicator reverse}, as new → old is, never by {@code start},
   * which copies into empty tables only (r22).
   */
  public static String remedy(Optional<WayIn> way, Target from, Target to, boolean cameBack) {
    String dir = from.value() + " -> " + to.value();
    if (way.isEmpty()) {
      return (to == Target.OLD ? "arm reverse replication (cutover-replicator reverse) if it is not armed, else start"
          : cameBack ? "arm " + dir + " again (cutover-replicator reverse, after a flip back) if it is not armed, else start"
          : "start") + " what carries " + dir + " (`cutover-replicator apply` for trigger capture or a relay; a"
          + " subscription's apply worker), see cutover-replicator status";
    }
    WayIn w = way.get();
    if (w.engine() == null) {
      if (to == Target.OLD) {
        return "arm reverse replication (cutover-replicator reverse): nothing of the replicator's carries " + dir;
      }
      return (cameBack
          ? "arm " + dir + " again with `cutover-replicator reverse`, which turns replication around after a flip back"
              + " (below PostgreSQL 16 it subscribes from the slot the flip back made on " + from.value()
              + " where `cutover-replicator reverse --prepare` ran before it; else it refuses, and"
              + " `cutover-replicator reverse --accept-missing-writes` arms it without the writes made on " + from.value() + " since, which `cutover-replicator verify` then"
              + " lists), not `cutover-replicator start`, which copies into empty tables only"
          : "start replication (cutover-replicator start)")
          + ": nothing of the replicator's carries " + dir + " (with another tool, make it carry table cutover.barrier)";
    }
    String how = switch (w.engine()) {
      case "subscription" -> "subscription " + w.name() + " on " + to.value();
      case "relay" -> "a relay from slot " + w.name() + " on " + from.value();
      default -> "trigger capture";
    };
    if ("subscription".equals(w.engine())) {
      String sub = Quoting.identifier(w.name());
      if (w.goneSlot() != null) {
        return dir + " is armed by " + how + ", whose slot " + w.goneSlot() + " is gone from " + from.value() + " (" + from.value()
            + " failed over to a standby, which before PostgreSQL 17's failover slots has no logical slots, or was restored):"
            + " nothing replicates, and a switch without the probe would abandon every write made on " + from.value()
            + " since, so do not force it; detach the subscription on " + to.value() + " (ALTER SUBSCRIPTION " + sub
            + " DISABLE; ALTER SUBSCRIPTION " + sub + " SET (slot_name = NONE)), then " + (to == Target.NEW
                ? "`cutover-replicator cleanup`, empty new's tables and `cutover-replicator start` again"
                : "DROP SUBSCRIPTION " + sub + ", run `cutover-replicator reverse --accept-missing-writes` (the writes made"
                    + " on new since the slot was made went with it) and reconcile on old what"
                    + " `cutover-replicator verify` lists before any flip back; or stay on new and remove the way back with"
                    + " `cutover-replicator cleanup`")
            + " (cutover-replicator status says the same)";
      }
      String failed = w.applyErrors() == null || w.applyErrors() == 0 ? ""
          : " and failed " + w.applyErrors() + " time(s) since its statistics were reset (pg_stat_subscription_stats on " + to.value() + ")";
      String state = Boolean.FALSE.equals(w.enabled()) ? "which is disabled: ALTER SUBSCRIPTION " + sub + " ENABLE on " + to.value()
          : w.applying() ? "whose apply worker runs but lags or fails" + failed + ": see its errors in " + to.value()
              + "'s server log and cutover-replicator status"
          : "whose apply worker is not running" + failed + ": a login " + from.value() + " refuses since a password changed there"
              + " is mended by ALTER SUBSCRIPTION " + sub + " CONNECTION '…' on " + to.value() + " with " + from.value()
              + "'s current password; else see its errors in " + to.value() + "'s server log and cutover-replicator status,"
              + " which names the cause";
      return dir + " is armed by " + how + ", " + state + notForced(from, to, "it applies");
    }
    String moved = w.appliedAt() == null ? "" : " (its position on " + to.value() + " last moved at " + w.appliedAt() + ")";
    String apply = "`cutover-replicator apply` applies";
    if (!w.applying() && w.failure() == null) {
      return dir + " is armed by " + how + moved + " but no `cutover-replicator apply` runs into " + to.value()
          + ": start `cutover-replicator apply`" + notForced(from, to, apply);
    }
    String stoppedOn = w.stoppedOn();
    if (stoppedOn != null) {
      return "the `cutover-replicator apply` of " + dir + " (" + how + ") stopped for good at " + w.failedAt() + ", and starting it"
          + " again meets the same refusal: " + stoppedOn + "; do not switch: a switch without the probe would abandon every write"
          + " made on " + from.value() + " since, so do not force it";
    }
    if (w.failure() != null) {
      return "the `cutover-replicator apply` of " + dir + " (" + how + ") fails (last tried " + w.failedAt() + "): "
          + w.failure() + "; fix the cause it names" + (w.applying() ? "" : ", and start `cutover-replicator apply` if"
              + " none runs") + notForced(from, to, apply);
    }
    return "the `cutover-replicator apply` of " + dir + " (" + how + ") runs but lags" + moved
        + ": wait for it to catch up (cutover-replicator status says how far behind it is)" + notForced(from, to, apply);
  }

  /**
   * Why the refusal of a way the replicator carries does not offer {@code cutover.switch.force=true}
   * ({@link #forcingLosesWrites}): what is not applied yet stays behind and, applied later by
   * {@code applier}, lands over what the target acknowledged since.
   */
  private static String notForced(Target from, Target to, String applier) {
    return "; do not force the switch: the writes made on " + from.value() + " that are not applied yet would be left"
        + " behind, and would overwrite what " + to.value() + " acknowledged since once " + applier + " them";
  }

  /**
   * Subscription {@code name}'s slot where {@code source} has none of its name, else null: after a
   * failover of the source to a standby (which, before PostgreSQL 17's failover slots, has no logical
   * slots) or a restore, its apply worker only restarts and dies, and nothing will replicate again.
   * Both catalogs are readable by every role ({@code subslotname} is granted to public).
   */
  private static String goneSlot(Connection target, Connection source, String name) throws SQLException {
    String slot;
    try (PreparedStatement ps = target.prepareStatement("SELECT subslotname::text FROM pg_subscription WHERE subname = ?"
        + " AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())")) {
      ps.setString(1, name);
      try (ResultSet rs = ps.executeQuery()) {
        slot = rs.next() ? rs.getString(1) : null;
      }
    }
    if (slot == null) {
      return null; // detached (slot_name = NONE), or dropped since
    }
    try (PreparedStatement ps = source.prepareStatement("SELECT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = ?)")) {
      ps.setString(1, slot);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getBoolean(1) ? null : slot;
      }
    }
  }

  /**
   * Whether switching without the probe ({@code cutover.switch.force=true}) would lose writes for
   * certain, which holds for every way the replicator carries: the writes not applied yet would be
   * left behind and, once a subscription or {@code cutover-replicator apply} applies them (a relay's
   * slot or capture's change log keeps them), overwrite what the target acknowledged since (r34:
   * 3,787 updates after a password rotation); or, where the apply stopped for good, nothing will ever
   * carry them. Its hint is then left out of the refusal, which says what makes the way deliver
   * instead; only where nothing of the replicator's carries the way (another tool may) is force
   * offered.
   */
  public boolean forcingLosesWrites() {
    return engine != null;
  }

  /** The refusal the apply stopped on for good, with its remedy, or null where it did not. */
  private String stoppedOn() {
    return failure != null && failure.startsWith(STOPPED) ? failure.substring(STOPPED.length()) : null;
  }

  /**
   * How often subscription {@code name}'s apply worker failed, where {@code pg_stat_subscription_stats}
   * (15+) says, which every role may read (as {@code pg_subscription.oid} from 15); else null. A login
   * the source refuses is not counted there (the worker fails it before its apply begins), so the
   * remedy names that cause either way.
   */
  private static Long applyErrors(Connection target, String name) throws SQLException {
    if (target.getMetaData().getDatabaseMajorVersion() < 15) {
      return null;
    }
    try (PreparedStatement ps = target.prepareStatement("SELECT s.apply_error_count FROM pg_catalog.pg_stat_subscription_stats s"
        + " JOIN pg_catalog.pg_subscription p ON p.oid = s.subid WHERE p.subname = ?"
        + " AND p.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())")) {
      ps.setString(1, name);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getLong(1) : null;
      }
    }
  }

  private static Instant instant(Timestamp t) {
    return t == null ? null : t.toInstant();
  }
}
