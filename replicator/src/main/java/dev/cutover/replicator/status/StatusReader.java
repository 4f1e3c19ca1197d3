package dev.cutover.replicator.status;

import dev.cutover.driver.control.OperatorControl;
import dev.cutover.replicator.Failure;
import dev.cutover.replicator.Names;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.apply.Way;
import dev.cutover.replicator.check.ApplyWorkerSettings;
import dev.cutover.replicator.check.WorkerRoom;
import dev.cutover.replicator.ddl.SchemaChanges;
import dev.cutover.replicator.privileges.Gap;
import dev.cutover.replicator.privileges.SubscriptionLogin;
import dev.cutover.replicator.replication.Heartbeat;
import dev.cutover.replicator.replication.ReplicationObjects;
import dev.cutover.replicator.replication.SubscriptionOid;
import dev.cutover.replicator.replication.MigrationPair;
import dev.cutover.replicator.replication.SwappedSides;
import dev.cutover.replicator.sql.Catalog;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Reads {@link StatusReport}s from the two databases. */
public final class StatusReader {
  /** A source beat older than this means no heartbeat writer is running. */
  static final long WRITER_GONE_MILLIS = 5_000;

  private StatusReader() {}

  /**
   * The directions found between {@code old} and {@code nw}.
   *
   * @throws ReplicatorException {@link Failure#PRECONDITION} where none is, but forward replication runs the other way ({@link SwappedSides})
   */
  public static StatusReport read(Connection old, Connection nw, Names names) throws SQLException, ReplicatorException {
    List<StatusReport.Direction> directions = new ArrayList<>();
    boolean forwardExists = exists(old, nw, names.forward(), names.forwardSlot());
    boolean reverseExists = exists(nw, old, names.reverse(), names.reverseSlot());
    StatusReport.Direction forward = RelayStatus.direction(old, nw);
    if (forward == null) {
      forward = direction("forward", Side.OLD, old, nw, names.forward(), names.forwardSlot(), !reverseExists);
    }
    if (forward == null) {
      forward = CaptureStatus.direction(Way.FORWARD, Side.OLD, old, nw);
    }
    if (forward != null) {
      directions.add(forward);
    }
    StatusReport.Direction reverse = direction("reverse", Side.NEW, nw, old, names.reverse(), names.reverseSlot(), !forwardExists);
    if (reverse == null) {
      reverse = CaptureStatus.direction(Way.REVERSE, Side.NEW, nw, old);
    }
    if (reverse != null) {
      directions.add(reverse);
    }
    if (directions.isEmpty()) {
      SwappedSides.refuse(old, nw, names, "status");
    }
    // Another migration's database given for a side would show its log against this one's position, as if they were one (r25).
    MigrationPair.requireOnePair(old, nw, names, "status");
    return new StatusReport(Instant.now(), uncarriedServingSide(old, nw, directions));
  }

  /**
   * Where exactly one side is fenced the other serves, and where no direction carries its writes to
   * the fenced side (after a flip back below 16, until {@code reverse} arms old -> new again), a
   * switch back would lose them: said as a problem of each direction there is. Status said only
   * "reverse (new -> old): STREAMING" there (r22).
   */
  private static List<StatusReport.Direction> uncarriedServingSide(Connection old, Connection nw,
      List<StatusReport.Direction> directions) throws SQLException {
    if (directions.isEmpty()) {
      return directions;
    }
    boolean oldFenced = fenced(old);
    if (oldFenced == fenced(nw)) {
      return directions;
    }
    Side serving = oldFenced ? Side.NEW : Side.OLD;
    String wanted = serving == Side.OLD ? "forward" : "reverse";
    if (directions.stream().anyMatch(d -> d.name().equals(wanted))) {
      return directions;
    }
    String s = serving.label();
    String t = serving.other().label();
    String problem = s + " serves (" + t + " is fenced) and nothing carries " + s + "'s writes to " + t + ": no " + s + " -> "
        + t + " replication is armed, so a switch to " + t + " would lose every write made on " + s + " since it took over;"
        + " run `cutover-replicator reverse` to arm " + s + " -> " + t + " (below 16, without the slot `reverse --prepare` had"
        + " the switch make, it refuses: then `cutover-replicator reverse --accept-missing-writes`, and reconcile on " + t
        + " the writes made on " + s + " since the switch, which `cutover-replicator verify` lists; run `reverse --prepare`"
        + " before each flip)";
    List<StatusReport.Direction> with = new ArrayList<>();
    for (StatusReport.Direction d : directions) {
      List<String> problems = new ArrayList<>(d.problems());
      problems.add(problem);
      with.add(new StatusReport.Direction(d.name(), d.source(), d.state(), d.subscriptionExists(), d.subscriptionEnabled(),
          d.applyWorkerRunning(), d.tables(), d.slot(), d.lagBytes(), d.heartbeatLagMillis(), d.lastBeatAgeMillis(), d.applyErrors(),
          d.syncErrors(), d.conflicts(), problems, d.capture(), d.relay()));
    }
    return with;
  }

  /**
   * Why the native subscription of the direction from {@code sourceSide} cannot apply now and will
   * not by itself, as status says it with its remedy, or empty: its slot lost WAL it needed or is
   * missing, the subscription is disabled, or its apply worker is not running and finds no free
   * logical replication worker ({@link WorkerRoom}) or cannot log in to the source with its connection
   * string ({@link SubscriptionLogin#existing}: a password rotated there mid-window). What catch-up
   * checks before and while it waits, rather than waiting out its timeout.
   */
  public static Optional<ReplicatorException> cannotApply(Side sourceSide, Connection source, Connection target, Names names)
      throws SQLException {
    boolean forward = sourceSide == Side.OLD;
    String name = forward ? "forward" : "reverse";
    String subscription = forward ? names.forward() : names.reverse();
    String slotName = forward ? names.forwardSlot() : names.reverseSlot();
    boolean alone = forward ? !exists(target, source, names.reverse(), names.reverseSlot())
        : !exists(target, source, names.forward(), names.forwardSlot());
    String sourceLabel = sourceSide.label();
    String targetLabel = sourceSide.other().label();
    String seeStatus = " (`cutover-replicator status` shows it)";
    SlotRead read = slot(source, slotName);
    if (read.slot() == null) {
      return Optional.of(new ReplicatorException(Failure.TIMEOUT, "replication cannot catch up: slot " + slotName + " on "
          + sourceLabel + " is missing" + seeStatus, redo(name, subscription, sourceLabel, targetLabel, alone)));
    }
    if ("lost".equals(read.slot().walStatus())) {
      return Optional.of(new ReplicatorException(Failure.TIMEOUT, "replication cannot catch up: slot " + slotName + " on "
          + sourceLabel + " lost WAL it needed (max_slot_wal_keep_size), so " + name + " replication cannot resume" + seeStatus,
          redoLost(name, subscription, slotName, sourceLabel, targetLabel, alone, true)));
    }
    String ofTarget = "subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())";
    if (!Sql.bool(target, "SELECT coalesce(bool_or(subenabled), true) FROM pg_subscription WHERE subname = ? AND " + ofTarget,
        subscription)) {
      return Optional.of(new ReplicatorException(Failure.TIMEOUT, "replication cannot catch up: subscription " + subscription
          + " on " + targetLabel + " is disabled, so nothing is applied" + seeStatus, "ALTER SUBSCRIPTION " + subscription
          + " ENABLE on " + targetLabel + ", then run catch-up again"));
    }
    boolean worker = Sql.bool(target, "SELECT EXISTS (SELECT 1 FROM pg_stat_subscription s JOIN pg_subscription p ON p.subname = s.subname"
        + " WHERE s.subname = ? AND p." + ofTarget + " AND s.pid IS NOT NULL AND s.relid IS NULL)", subscription);
    Optional<String> full = worker ? Optional.empty()
        : WorkerRoom.shortage(target, targetLabel, subscription, forward ? ApplyWorkerSettings.FORWARD : ApplyWorkerSettings.WAY_BACK);
    if (full.isPresent()) {
      return Optional.of(new ReplicatorException(Failure.TIMEOUT, "replication cannot catch up: no apply worker runs for "
          + subscription + " on " + targetLabel + ": " + full.get(), "the remedy above, then run catch-up again"));
    }
    if (!worker) {
      Optional<Gap> refused;
      try {
        refused = SubscriptionLogin.existing(target, sourceSide.other(), subscription);
      } catch (ReplicatorException e) {
        return Optional.of(e); // the target did not answer the probe
      }
      if (refused.isPresent()) {
        return Optional.of(new ReplicatorException(Failure.TIMEOUT, "replication cannot catch up: no apply worker runs for "
            + subscription + " on " + targetLabel + ": " + refused.get().message() + seeStatus, refused.get().remedy()
            + ", then run catch-up again"));
      }
    }
    return Optional.empty();
  }

  private static boolean exists(Connection source, Connection target, String subscription, String slot) throws SQLException {
    return ReplicationObjects.subscriptionExists(target, subscription) || ReplicationObjects.ownSlotExists(source, slot);
  }

  /**
   * @param alone whether the other direction is absent: only then may the advice be {@code cleanup}, which removes both
   */
  private static StatusReport.Direction direction(String name, Side sourceSide, Connection source, Connection target,
      String subscription, String slotName, boolean alone) throws SQLException, ReplicatorException {
    boolean subExists = ReplicationObjects.subscriptionExists(target, subscription);
    boolean slotExists = ReplicationObjects.ownSlotExists(source, slotName);
    if (!subExists && !slotExists) {
      return null;
    }
    List<String> problems = new ArrayList<>();
    String targetLabel = sourceSide.other().label();
    String sourceLabel = sourceSide.label();
    boolean enabled = false;
    boolean worker = false;
    Map<String, String> tables = new LinkedHashMap<>();
    Long applyErrors = null;
    Long syncErrors = null;
    Map<String, Long> conflicts = new LinkedHashMap<>();
    boolean prepared = false;
    // A slot that lost its WAL is no way back, prepared or not: the problem below says so and how to make a new one (r22).
    boolean lost = slotExists && ReplicationObjects.ownSlotLost(source, slotName);
    if (subExists) {
      enabled = Sql.bool(target, "SELECT subenabled FROM pg_subscription WHERE subname = ?"
          + " AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())", subscription);
      Long oid = SubscriptionOid.of(target, subscription);
      if (oid == null) {
        worker = Sql.bool(target, "SELECT EXISTS (SELECT 1 FROM pg_stat_subscription WHERE subname = ? AND pid IS NOT NULL"
            + " AND relid IS NULL)", subscription);
        problems.add("per-table states unknown: role " + Catalog.currentUser(target) + " may not read the oid of "
            + subscription + " on " + targetLabel + " (pg_subscription.oid is for superusers before PostgreSQL 15), and another"
            + " database of that server has a subscription of the same name");
      } else {
        worker = Sql.bool(target, "SELECT EXISTS (SELECT 1 FROM pg_stat_subscription WHERE subid = ? AND pid IS NOT NULL"
            + " AND relid IS NULL)", oid);
        try (PreparedStatement ps = target.prepareStatement("SELECT format('%I.%I', n.nspname, c.relname), r.srsubstate"
            + " FROM pg_subscription_rel r JOIN pg_class c ON c.oid = r.srrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
            + " WHERE r.srsubid = ? ORDER BY 1")) {
          ps.setLong(1, oid);
          try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
              tables.put(rs.getString(1), tableState(rs.getString(2)));
            }
          }
        }
      }
      if (Sql.majorVersion(target) >= 15) {
        try (PreparedStatement ps = target.prepareStatement("SELECT * FROM pg_stat_subscription_stats WHERE subname = ?"
            + (oid == null ? "" : " AND subid = " + oid))) {
          ps.setString(1, subscription);
          try (ResultSet rs = ps.executeQuery()) {
            if (rs.next()) {
              ResultSetMetaData md = rs.getMetaData();
              for (int i = 1; i <= md.getColumnCount(); i++) {
                String col = md.getColumnName(i);
                if (col.equals("apply_error_count")) {
                  applyErrors = rs.getLong(i);
                } else if (col.equals("sync_error_count")) {
                  syncErrors = rs.getLong(i);
                } else if (col.startsWith("confl_")) {
                  conflicts.put(col.substring("confl_".length()), rs.getLong(i));
                }
              }
            }
          }
        }
      }
      if (!enabled) {
        problems.add("subscription " + subscription + " on " + targetLabel + " is disabled: nothing is applied and lag grows;"
            + " ALTER SUBSCRIPTION " + subscription + " ENABLE to resume");
      } else if (!worker) {
        Optional<String> full = WorkerRoom.shortage(target, targetLabel, subscription,
            sourceSide == Side.OLD ? ApplyWorkerSettings.FORWARD : ApplyWorkerSettings.WAY_BACK);
        Optional<Gap> refused = full.isPresent() ? Optional.empty() : SubscriptionLogin.existing(target, sourceSide.other(), subscription);
        if (refused.isPresent()) {
          problems.add("no apply worker runs for " + subscription + " on " + targetLabel + ": " + refused.get().message()
              + "; nothing is applied and lag grows: " + refused.get().remedy());
        } else {
          problems.add("no apply worker runs for " + subscription + " on " + targetLabel + (full.isPresent() ? ": " + full.get()
              : ": it is starting, or failing (see the " + targetLabel + " server log; a login it refuses since a password changed on "
                  + sourceLabel + " is mended by ALTER SUBSCRIPTION " + subscription + " CONNECTION '…' on " + targetLabel
                  + "); lag grows meanwhile"));
        }
      }
      if (applyErrors != null && applyErrors > 0) {
        problems.add(applyErrors + " apply error(s) on " + targetLabel + " since statistics were reset; see its server log");
      }
      problems.addAll(SchemaChanges.problems(source, target, sourceLabel, targetLabel, subscription, enabled && worker, !alone));
    } else if (lost) {
      // Said below with its remedy.
    } else if (ReplicationObjects.publicationExists(source, subscription) && fenced(target)) {
      prepared = true;
      problems.add("slot " + slotName + " on " + sourceLabel + " holds the way back " + sourceLabel + " -> " + targetLabel
          + " and has no subscription on " + targetLabel + " (the switch made it after `reverse --prepare`, or its subscription"
          + " was dropped there): run `cutover-replicator reverse` to stream from it (cleanup would drop it, and a flip back would"
          + " then lose writes)");
    } else {
      problems.add("slot " + slotName + " on " + sourceLabel + " has no subscription on " + targetLabel + ", and no switch made it"
          + " for a way back (" + targetLabel + " is not fenced): a leftover of an earlier start or reverse, it retains WAL for"
          + " nothing; " + (alone ? "run cleanup" : "drop it (SELECT pg_drop_replication_slot('" + slotName
          + "') on " + sourceLabel + "); cleanup would also remove the other direction"));
    }

    StatusReport.Slot slot = null;
    Long lagBytes = null;
    if (slotExists) {
      SlotRead read = slot(source, slotName);
      slot = read.slot();
      lagBytes = read.lagBytes();
      if (slot != null) {
        if ("lost".equals(slot.walStatus())) {
          problems.add("slot " + slotName + " on " + sourceLabel + " lost WAL it needed (max_slot_wal_keep_size):"
              + " replication cannot resume; " + redoLost(name, subscription, slotName, sourceLabel, targetLabel, alone, subExists));
        } else if ("unreserved".equals(slot.walStatus())) {
          problems.add("slot " + slotName + " on " + sourceLabel + " is about to lose WAL (safe_wal_size "
              + slot.safeWalSizeBytes() + " bytes): resume the subscription now");
        }
        if (!slot.active() && enabled) {
          problems.add("no walsender holds slot " + slotName + " on " + sourceLabel + " yet");
        }
        SlotRetention.problem(source, sourceLabel, slot, !subExists ? "arm its subscription or drop the slot, as said above"
            : !enabled ? "ALTER SUBSCRIPTION " + subscription + " ENABLE on " + targetLabel
            : "get subscription " + subscription + " on " + targetLabel + " applying again (see above), or let it catch up")
            .ifPresent(problems::add);
      }
    } else {
      problems.add("slot " + slotName + " on " + sourceLabel + " is missing: replication cannot run; "
          + redo(name, subscription, sourceLabel, targetLabel, alone));
    }

    problems.addAll(FenceOwnership.problems(source, sourceSide));
    Beats beats = beats(sourceSide, source, target, problems);
    // The last beat that reached the target before the slot lost its WAL said "0 ms" while it could never catch up (r22).
    Long beatLag = lost ? null : beats.lagMillis();
    Long beatAge = beats.ageMillis();

    String state;
    if (prepared) {
      state = "prepared";
    } else if (slot == null || (slot.walStatus() != null && slot.walStatus().equals("lost"))) {
      state = "broken";
    } else if (!subExists || !enabled || !worker) {
      state = "stopped";
    } else if (beatLag != null && beatLag > 2_000 || beats.steppedBehind() > STEPPED_BEHIND
        || lagBytes != null && lagBytes > 16L * 1024 * 1024) {
      state = "catching-up";
    } else {
      state = "streaming";
    }
    return new StatusReport.Direction(name, sourceLabel, state, subExists, enabled, worker, tables, slot, lagBytes, beatLag, beatAge,
        applyErrors, syncErrors, conflicts, problems);
  }

  /**
   * Whether a switch fenced {@code c}'s database: a way back into it is prepared only then. The
   * switch makes the slot {@code reverse --prepare} asked for after it fenced the side it leaves,
   * and {@code reverse} takes a slot for prepared only once that side is fenced; a slot and
   * publication of ours without a subscription and without the fence are a leftover (new thrown
   * away and made again without cleanup, say). False where the control schema, or the role's
   * right to read the fence, is missing.
   */
  private static boolean fenced(Connection c) throws SQLException {
    return Sql.mayExecute(c, "cutover.fence_raised()") && OperatorControl.fenceRaised(c);
  }

  /** A slot as status shows it, and the source's WAL it has not confirmed; both null where it is missing. */
  record SlotRead(StatusReport.Slot slot, Long lagBytes) {}

  static SlotRead slot(Connection source, String slotName) throws SQLException {
    boolean v13 = Sql.majorVersion(source) >= 13;
    try (PreparedStatement ps = source.prepareStatement("SELECT active, "
        + (v13 ? "wal_status, safe_wal_size" : "NULL::text, NULL::bigint")
        + ", confirmed_flush_lsn::text, pg_current_wal_lsn()::text,"
        + " pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint,"
        + " pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint"
        + " FROM pg_replication_slots WHERE slot_name = ? AND database = current_database()")) {
      ps.setString(1, slotName);
      try (ResultSet rs = ps.executeQuery()) {
        if (rs.next()) {
          return new SlotRead(new StatusReport.Slot(slotName, rs.getBoolean(1), rs.getString(2), (Long) rs.getObject(3),
              rs.getString(4), rs.getString(5), (Long) rs.getObject(7)), (Long) rs.getObject(6));
        }
      }
    }
    return new SlotRead(null, null);
  }

  /**
   * How to get a direction back whose slot is missing: start over only when it is alone, else rebuild
   * just this direction. Cleanup refuses a subscription whose slot the source does not have (it
   * cannot drop it there), so it is detached first: "run cleanup" alone only met that refusal (r31).
   * The writes the slot held are gone with it: the rebuild is reverse --accept-missing-writes and a
   * reconcile (below 16 plain reverse refuses a way back that misses them, r32).
   */
  private static String redo(String direction, String subscription, String source, String target, boolean alone) {
    if (alone && direction.equals("forward")) {
      String q = Sql.ident(subscription);
      return "old failed over to a standby (before PostgreSQL 17's failover slots a standby has no logical slots) or was restored,"
          + " or the slot was dropped, and nothing will carry old -> new again; detach the subscription on " + target
          + " (ALTER SUBSCRIPTION " + q + " DISABLE; ALTER SUBSCRIPTION " + q + " SET (slot_name = NONE)), then run"
          + " `cutover-replicator cleanup`, empty " + target + "'s tables and start again";
    }
    return source + " failed over to a standby (before PostgreSQL 17's failover slots a standby has no logical slots) or was"
        + " restored, or the slot was dropped, and every write committed on " + source + " since the slot was made is missing on "
        + target + "; drop subscription " + subscription + " on " + target + " (ALTER SUBSCRIPTION " + subscription + " DISABLE;"
        + " ALTER SUBSCRIPTION " + subscription + " SET (slot_name = NONE); DROP SUBSCRIPTION " + subscription + "), then run"
        + " `cutover-replicator reverse --accept-missing-writes` and reconcile on " + target + " what"
        + " `cutover-replicator verify` lists before any switch to " + target + "; or stay on " + source + " and remove it with"
        + " `cutover-replicator cleanup`" + (alone ? "" : ", which would also remove the other direction");
  }

  /**
   * How to get a direction back whose slot lost its WAL: start over when it is forward alone, else
   * arm it anew with {@code reverse --accept-missing-writes}, which drops the lost slot and makes a
   * new one (plain {@code reverse} refuses a lost slot), and reconcile what it no longer held.
   *
   * @param subExists whether the subscription still exists, to be dropped first
   */
  private static String redoLost(String direction, String subscription, String slot, String source, String target, boolean alone,
      boolean subExists) {
    if (alone && direction.equals("forward")) {
      return "run cleanup and start again";
    }
    return (subExists ? "drop subscription " + subscription + " on " + target + " (ALTER SUBSCRIPTION " + subscription
        + " DISABLE; ALTER SUBSCRIPTION " + subscription + " SET (slot_name = NONE); DROP SUBSCRIPTION " + subscription + "), then " : "")
        + "run `cutover-replicator reverse --accept-missing-writes`: it drops slot " + slot + " on " + source + " and arms "
        + source + " -> " + target + " from a new one; the writes committed on " + source + " that the lost slot no longer held"
        + " are not carried, reconcile them on " + target + " (cutover-replicator verify lists them)"
        + (alone ? "" : "; cleanup would also remove the other direction");
  }

  /**
   * Beats the target may be behind, where the source's clock stepped back, beyond which status
   * says catching-up: at the writers' default interval of 1 s, as the 2 s of lag in time.
   */
  static final long STEPPED_BEHIND = 2;

  /**
   * Lag by heartbeat between a source and its target: the newest beat on the source minus the
   * newest that reached the target, both by the source's clock.
   *
   * @param lagMillis that difference, or null without beats on both sides, and where the source's
   *     clock stepped back: its newest beat is no later than an earlier one that reached the
   *     target, so the difference says nothing (it read 0 ms while apply was stalled)
   * @param ageMillis the age of the newest beat on the source, or null without one
   * @param steppedBehind where the source's clock stepped back, how many beats the target is
   *     behind the source; 0 otherwise
   */
  record Beats(Long lagMillis, Long ageMillis, long steppedBehind) {}

  /** Reads the heartbeat on both sides, adding to {@code problems} what keeps it from measuring lag. */
  static Beats beats(Side sourceSide, Connection source, Connection target, List<String> problems) throws SQLException {
    String sourceLabel = sourceSide.label();
    String targetLabel = sourceSide.other().label();
    Optional<Heartbeat.Beat> onSource = Heartbeat.read(source, sourceSide);
    Optional<Heartbeat.Beat> onTarget = Heartbeat.read(target, sourceSide);
    if (onSource.isEmpty()) {
      problems.add("no heartbeat on " + sourceLabel + ": time lag unknown; run `cutover-replicator heartbeat --source " + sourceLabel
          + "` or `status --watch` (both beat on the source of each armed direction)");
      return new Beats(null, null, 0);
    }
    Heartbeat.Beat newest = onSource.get();
    long age = newest.age().toMillis();
    Long lag = onTarget.map(t -> Math.max(0, newest.at().toEpochMilli() - t.at().toEpochMilli())).orElse(null);
    long steppedBehind = 0;
    if (onTarget.isPresent() && newest.beats() > onTarget.get().beats() && !newest.at().isAfter(onTarget.get().at())) {
      // A later beat written no later than an earlier one: the source's clock stepped back between them.
      Heartbeat.Beat reached = onTarget.get();
      steppedBehind = newest.beats() - reached.beats();
      lag = null;
      problems.add(sourceLabel + "'s clock stepped back: its newest beat (#" + newest.beats() + ", " + newest.at() + " by its clock)"
          + " is no later than beat #" + reached.beats() + " (" + reached.at() + "), the newest that reached " + targetLabel
          + ", so lag in time cannot be read from the beats until " + targetLabel + " applies one written after the step; "
          + targetLabel + " is " + steppedBehind + " beat(s) behind (times the writer's interval, 1 s by default): if that"
          + " grows from one status to the next, apply is stalled");
    }
    if (age > WRITER_GONE_MILLIS) {
      problems.add("no heartbeat writer runs on " + sourceLabel + " (last beat " + age / 1000
          + " s ago), so time lag is stale: run `cutover-replicator heartbeat --source " + sourceLabel + "` or `status --watch`");
    }
    if (onTarget.isEmpty()) {
      problems.add("no heartbeat has reached " + targetLabel + " yet");
    }
    return new Beats(lag, age, steppedBehind);
  }

  private static String tableState(String code) {
    return switch (code) {
      case "i" -> "init";
      case "d" -> "data-copy";
      case "f" -> "finished-copy";
      case "s" -> "synchronized";
      case "r" -> "ready";
      default -> code;
    };
  }
}
