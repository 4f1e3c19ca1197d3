package dev.cutover.driver.internal.control;

import dev.cutover.common.Queries;
import dev.cutover.common.TransactionHolders;
import dev.cutover.driver.control.OperatorControl;
import dev.cutover.driver.control.SwitchState;
import dev.cutover.flags.Target;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * How the instances of one service meet in the control schema of the database that serves them:
 * heartbeats, one shared switch per flip, who has drained, who leads, and the leader's decision.
 * Every call is one statement on a connection the caller owns. The steps that steer a switch
 * ({@link #release}, {@link #abort}, {@link #openTarget}, {@link Fence#raise}, {@link
 * Barrier#writeForSwitch}) are refused server-side unless the caller's session leads it.
 */
public final class Coordination {
  /** Prefix of an instance's state when it is ready for a switch but has not closed its gate yet. */
  static final String READY = "ready:";
  /** SQLSTATE of a lock wait that outlived {@code lock_timeout}. */
  private static final String LOCK_NOT_AVAILABLE = "55P03";
  static final String UNDEFINED_FUNCTION = "42883";

  private Coordination() {}

  /**
   * A switch seen in a heartbeat: one in progress, or the last one released from this database
   * while the fence it raised still stands (an instance still routing here missed it).
   *
   * @param released whether its leader released it
   * @param peerAsks whether a live peer's own flag asks for {@code target}: only then may an
   *     instance whose flag has not moved join a switch in progress
   */
  public record Running(String id, Target target, boolean released, boolean peerAsks) {}

  /**
   * What an instance publishes with each heartbeat, for its peers and the operator view.
   *
   * @param flagTarget what its flag asks for, or {@code null} while the flag has delivered nothing
   * @param serving the side it routes to
   * @param phase what its switch is doing, or {@code idle}
   */
  public record Beat(Target flagTarget, Target serving, String phase) {}

  /**
   * The service's latest switch as the leader left it.
   *
   * @param marker the barrier marker it was released with, or {@code null}
   * @param reason why it aborted, or {@code null}
   * @param abortRequested why an operator asked to abort it, or {@code null}
   */
  public record Decision(String id, SwitchState state, String marker, String reason, String abortRequested) {
    public boolean released() {
      return state == SwitchState.RELEASED;
    }

    public boolean aborted() {
      return state == SwitchState.ABORTED;
    }
  }

  /** Records that {@code instance} is alive and what it publishes; returns the switch it should know of, if any. */
  public static Optional<Running> heartbeat(Connection c, String service, String instance, Beat beat, Duration ttl)
      throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT switch_id, switch_target, switch_released, peer_asks FROM cutover.heartbeat(?, ?, ?, ?, ?, ?)")) {
      ps.setString(1, service);
      ps.setString(2, instance);
      ps.setString(3, beat.flagTarget() == null ? null : beat.flagTarget().value());
      ps.setString(4, beat.serving().value());
      ps.setString(5, beat.phase());
      ps.setInt(6, (int) ttl.toMillis());
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next()
            ? Optional.of(new Running(rs.getString(1), Target.parse(rs.getString(2)), rs.getBoolean(3), rs.getBoolean(4)))
            : Optional.empty();
      }
    }
  }

  public static void leave(Connection c, String service, String instance) throws SQLException {
    call(c, "SELECT cutover.leave(?, ?)", service, instance);
  }

  /**
   * Joins the switch of {@code service} from {@code source} to {@code target} that peers have
   * started, or starts one with {@code proposedId}.
   *
   * @return the switch's shared id
   */
  public static String begin(Connection c, String service, String proposedId, Target source, Target target)
      throws SQLException {
    return string(c, "SELECT cutover.begin_switch(?, ?, ?, ?)", service, proposedId, source.value(), target.value());
  }

  /**
   * Records a switch refused before it began (its checks or its probe) as the service's last switch,
   * aborted with {@code reason}, for the operator view: not over a switch in progress, nor on a
   * fenced database (whose last switch an instance may still have to catch up with).
   *
   * @return whether it was recorded; false too where the control schema predates {@code refuse_switch}
   */
  public static boolean refuse(Connection c, String service, String switchId, Target source, Target target, String reason)
      throws SQLException {
    try {
      return bool(c, "SELECT cutover.refuse_switch(?, ?, ?, ?, ?)", service, switchId, source.value(), target.value(),
          reason);
    } catch (SQLException e) {
      if (UNDEFINED_FUNCTION.equals(e.getSQLState())) {
        return false;
      }
      throw e;
    }
  }

  /** Whether a live instance (heartbeat within {@code ttl}) reports that its own flag asks for {@code target}. */
  public static boolean asking(Connection c, String service, Target target, Duration ttl) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT cutover.asking(?, ?, ?)")) {
      ps.setString(1, service);
      ps.setString(2, target.value());
      ps.setInt(3, (int) ttl.toMillis());
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getBoolean(1);
      }
    }
  }

  /** Records that {@code instance} has no transaction in flight and holds new ones for {@code switchId}. */
  public static void drained(Connection c, String service, String instance, String switchId) throws SQLException {
    call(c, "SELECT cutover.drained(?, ?, ?)", service, instance, switchId);
  }

  /**
   * Records that {@code instance} is ready for {@code switchId}: its connections to the target are
   * open and it is about to close its gate.
   */
  public static void ready(Connection c, String service, String instance, String switchId) throws SQLException {
    call(c, "SELECT cutover.drained(?, ?, ?)", service, instance, READY + switchId);
  }

  /**
   * Records, in {@code instance}'s own row, why it cannot get ready for {@code switchId}, so that
   * its peers refuse the switch before any gate closes ({@link #notReadyPeers}). The server takes
   * it only for the switch in progress of that id and an instance that has not drained for it, and
   * keeps the first 1000 characters; the caller masks secrets first.
   *
   * @return whether it was recorded; false too where the control schema predates {@code not_ready}
   */
  public static boolean notReady(Connection c, String service, String instance, String switchId, String reason)
      throws SQLException {
    try {
      return bool(c, "SELECT cutover.not_ready(?, ?, ?, ?)", service, instance, switchId, reason);
    } catch (SQLException e) {
      if (UNDEFINED_FUNCTION.equals(e.getSQLState())) {
        return false;
      }
      throw e;
    }
  }

  /** An instance that said it cannot get ready for a switch ({@link #notReady}), and why. */
  public record NotReady(String instance, String reason) {}

  /**
   * Live instances (heartbeat within {@code ttl}) that said they cannot get ready for {@code
   * switchId}; empty (not an empty list) where the control schema predates {@code not_ready_peers}:
   * no peer can say, and the wait for ready peers runs out as before.
   */
  public static Optional<List<NotReady>> notReadyPeers(Connection c, String service, String switchId, Duration ttl)
      throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT * FROM cutover.not_ready_peers(?, ?, ?)")) {
      ps.setString(1, service);
      ps.setString(2, switchId);
      ps.setInt(3, (int) ttl.toMillis());
      List<NotReady> out = new ArrayList<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(new NotReady(rs.getString(1), rs.getString(2)));
        }
      }
      return Optional.of(out);
    } catch (SQLException e) {
      if (UNDEFINED_FUNCTION.equals(e.getSQLState())) {
        return Optional.empty();
      }
      throw e;
    }
  }

  /** Live instances (heartbeat within {@code ttl}) neither ready nor drained for {@code switchId}. */
  public static List<String> unready(Connection c, String service, String switchId, Duration ttl) throws SQLException {
    return instances(c, "SELECT * FROM cutover.unready(?, ?, ?)", service, switchId, ttl);
  }

  /** Live instances (heartbeat within {@code ttl}) that have not drained for {@code switchId}. */
  public static List<String> undrained(Connection c, String service, String switchId, Duration ttl)
      throws SQLException {
    return instances(c, "SELECT * FROM cutover.undrained(?, ?, ?)", service, switchId, ttl);
  }

  private static List<String> instances(Connection c, String sql, String service, String switchId, Duration ttl)
      throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, service);
      ps.setString(2, switchId);
      ps.setInt(3, (int) ttl.toMillis());
      List<String> out = new ArrayList<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(rs.getString(1));
        }
      }
      return out;
    }
  }

  /**
   * Tries to become the leader of {@code switchId} in the database {@code c} is connected to. The
   * lock belongs to the session: if the leader's connection dies, another instance can take
   * over. Its key is known only to the control plane ({@code cutover.lead_key}), so no other role
   * can hold it in advance; once held, every role sees it in {@code pg_locks} and may queue on it,
   * so {@code cutover.take_lead} changes it when only sessions of other roles hold it (a squatter
   * that got it when the leader's session died) and takes the new one.
   */
  public static boolean tryLead(Connection c, String service, String switchId) throws SQLException {
    try {
      return bool(c, "SELECT cutover.take_lead(?, ?)", service, switchId);
    } catch (SQLException e) {
      if (!UNDEFINED_FUNCTION.equals(e.getSQLState())) {
        throw e;
      } // a control schema installed before take_lead: the key as it was, which a squatter can hold
      return bool(c, "SELECT pg_try_advisory_lock(" + ControlSql.LEADER_LOCK + ", cutover.lead_key(?, ?))",
          service, switchId);
    }
  }

  /**
   * Names this instance and its session as the leader of {@code switchId} in the switch's record,
   * once it holds the lock: so that a leader stalled before it raised the fence is found too
   * ({@code cutover.stalled_leader}). Nothing where the control schema predates it.
   */
  public static void leading(Connection c, String service, String switchId, String instance) throws SQLException {
    try {
      call(c, "SELECT cutover.leading(?, ?, ?)", service, switchId, instance);
    } catch (SQLException e) {
      if (!UNDEFINED_FUNCTION.equals(e.getSQLState())) {
        throw e;
      }
    }
  }

  public static void resign(Connection c, String service, String switchId) throws SQLException {
    call(c, "SELECT pg_advisory_unlock(" + ControlSql.LEADER_LOCK + ", cutover.lead_key(?, ?))", service, switchId);
  }

  /**
   * On the switch's target, after its release: takes the switch's lock there and, when it got it,
   * opens the target: makes the replication slots the replicator requested for this moment (a
   * request is used once), then lowers its fence if a switch away from it had raised it. Any
   * instance that follows the release may do it (it is idempotent), but the server refuses (55000)
   * once the target's fence is no longer the one the release recorded: a later switch left it again.
   * The lock stays with the session.
   *
   * <p>A slot's creation waits for every transaction that holds a transaction id on the target's
   * server, in any database; each of those waits is bounded by {@code slotWait}. Slots not made in
   * time are given up ({@code cutover.miss_slots_at_switch}, with the transactions that were in the
   * way) and the target opens without them: the application is held until it opens, while a way
   * back armed later merely has to be armed afresh (the replicator's reverse refuses, naming why).
   *
   * @param targetEpoch the target's fence epoch the release recorded ({@link #targetEpoch})
   * @return what was done, or empty when another session holds the lock
   */
  public static Optional<Opened> openTarget(Connection target, String service, String switchId, long targetEpoch,
      Duration slotWait) throws SQLException {
    if (!tryLead(target, service, switchId)) {
      return Optional.empty();
    }
    int made = 0;
    String missed = null;
    String because = null;
    try (PreparedStatement ps = target.prepareStatement("SELECT cutover.make_slots_at_switch(?, ?, ?, ?)")) {
      bind(ps, service, switchId);
      ps.setLong(3, targetEpoch);
      ps.setInt(4, (int) Math.min(Integer.MAX_VALUE, Math.max(1, slotWait.toMillis())));
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        made = rs.getInt(1);
      }
    } catch (SQLException e) {
      if (LOCK_NOT_AVAILABLE.equals(e.getSQLState())) {
        because = "creating it waited more than " + slotWait.toMillis() + " ms for transactions holding a transaction id"
            + " on its server (any database)" + TransactionHolders.describe(target, TransactionHolders.now(target), ": ");
        List<String> given = Queries.strings(target, "SELECT * FROM cutover.miss_slots_at_switch(?, ?, ?)", service, switchId, because);
        missed = given.isEmpty() ? null : String.join(", ", given);
      } else if (!UNDEFINED_FUNCTION.equals(e.getSQLState())) {
        throw e;
      } // else a control schema from before this step, which only a forced switch gets this far with: open_target makes them
    }
    try (PreparedStatement ps = target.prepareStatement("SELECT cutover.open_target(?, ?, ?)")) {
      bind(ps, service, switchId);
      ps.setLong(3, targetEpoch);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return Optional.of(new Opened(made + rs.getInt(1), missed, missed == null ? null : because));
      }
    }
  }

  /**
   * What {@link #openTarget} did.
   *
   * @param slots the replication slots it made
   * @param missedSlots the requested slots it gave up, comma-separated, or null
   * @param missedBecause why, or null
   */
  public record Opened(int slots, String missedSlots, String missedBecause) {}

  /** The replication slots a switch to the database {@code c} is connected to must make before it opens ({@link #openTarget}). */
  public static List<String> slotsAtSwitch(Connection c) throws SQLException {
    return Queries.strings(c, "SELECT * FROM cutover.slots_at_switch()");
  }

  /** The fence epoch of the database {@code c} is connected to (odd while raised), for the release to record. */
  public static long targetEpoch(Connection c, String service) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT fence_epoch FROM cutover.service_status(?)")) {
      ps.setString(1, service);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  /**
   * Publishes the release of {@code switchId} with its barrier marker, as its leader: refused
   * unless the fence the switch raised stands and {@code marker} was written under it. From here
   * on the switch cannot abort; the target is opened afterwards ({@link #openTarget}).
   *
   * @param targetEpoch the target's fence epoch now, which followers need to open it
   */
  public static void release(Connection c, String service, String switchId, String marker, String instance,
      long targetEpoch) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT cutover.release_switch(?, ?, ?, ?, ?)")) {
      bind(ps, service, switchId, marker, instance);
      ps.setLong(5, targetEpoch);
      ps.execute();
    }
  }

  /**
   * Checks for itself what a release of {@code switchId} promises on the source: the fence the
   * switch raised still stands (same epoch) and the released marker was written on this database
   * under it. The caller then checks that the marker arrived on the target.
   *
   * @return the marker and the target's epoch the release recorded, or the reason the release cannot be trusted
   */
  public static Verified verifyRelease(Connection c, String service, String switchId) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT released_marker, problem, target_epoch FROM cutover.verify_release(?, ?)")) {
      ps.setString(1, service);
      ps.setString(2, switchId);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return new Verified(rs.getString(1), rs.getString(2), rs.getLong(3));
      }
    }
  }

  /** A release as checked on the source: the marker and the target's epoch it recorded, or why it is not to be followed. */
  public record Verified(String marker, String problem, long targetEpoch) {
    public boolean ok() {
      return marker != null;
    }
  }

  /**
   * Which database {@code c} is connected to, as a switch records its target: its name and oid and
   * its cluster's system identifier ({@code cutover.database_identity()}); empty where the control
   * schema predates the function or its installer may not read {@code pg_control_system()}.
   */
  public static Optional<String> databaseIdentity(Connection c) throws SQLException {
    return stringIfDefined(c, "SELECT cutover.database_identity()");
  }

  /**
   * The target {@code switchId} of {@code service} moves to, as recorded on the source {@code c}:
   * the first claim while the switch drains records {@code identity} ({@link #databaseIdentity} of
   * the claimer's target); a later claim, or a {@code null} identity, only reads it. Empty where
   * nothing is recorded (a switch run by drivers from before the record) or the control schema
   * predates {@code cutover.claim_target}.
   */
  public static Optional<String> claimTarget(Connection c, String service, String switchId, String identity)
      throws SQLException {
    return stringIfDefined(c, "SELECT cutover.claim_target(?, ?, ?)", service, switchId, identity);
  }

  /** {@link #string}, empty when it is NULL or the function it calls is missing (a control schema from before it). */
  private static Optional<String> stringIfDefined(Connection c, String sql, String... args) throws SQLException {
    try {
      return Optional.ofNullable(string(c, sql, args));
    } catch (SQLException e) {
      if (UNDEFINED_FUNCTION.equals(e.getSQLState())) {
        return Optional.empty();
      }
      throw e;
    }
  }

  /** How {@link #abort} found the switch. */
  public enum Ended {
    /** Aborted now or before: the fence it raised is down (or was never raised). */
    ABORTED,
    /** Released already: the decision stands, and the fence with it. */
    RELEASED,
    /** A later switch of the service replaced its record: that switch owns the fence. */
    SUPERSEDED,
    /**
     * The database records no switch of the service at all (a record lost in a crash under a
     * control schema from before records were durable, or deleted by hand): nothing was changed,
     * and whatever fence stands is left to the operator.
     */
    MISSING
  }

  /**
   * Aborts {@code switchId} and lowers the fence it raised (or that a raise which died left
   * standing). Refused while another session of the control plane leads it.
   */
  public static Ended abort(Connection c, String service, String switchId, String reason) throws SQLException {
    String state = string(c, "SELECT cutover.abort_switch(?, ?, ?)", service, switchId, reason);
    return switch (state) {
      case "aborted" -> Ended.ABORTED;
      case "released" -> Ended.RELEASED;
      case "superseded" -> Ended.SUPERSEDED;
      case "missing" -> Ended.MISSING;
      default -> throw new SQLException("cutover: abort of switch " + switchId + " of " + service
          + " ended in an unknown state '" + state + "'; is the control schema of this driver's version?", "XX000");
    };
  }

  /** The latest switch of {@code service}. */
  public static Optional<Decision> decision(Connection c, String service) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT * FROM cutover.switch_state(?)")) {
      ps.setString(1, service);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next()
            ? Optional.of(new Decision(rs.getString(1), SwitchState.of(rs.getString(2)), rs.getString(3),
                rs.getString(4), rs.getString(5)))
            : Optional.empty();
      }
    }
  }

  /** Whether an operator set {@code service}'s switches to go without the barrier ({@link OperatorControl#setForce}). */
  public static boolean forced(Connection c, String service) throws SQLException {
    return bool(c, "SELECT cutover.forced(?)", service);
  }

  private static void call(Connection c, String sql, String... args) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      bind(ps, args);
      ps.execute();
    }
  }

  private static String string(Connection c, String sql, String... args) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      bind(ps, args);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getString(1);
      }
    }
  }

  static boolean bool(Connection c, String sql, String... args) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      bind(ps, args);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getBoolean(1);
      }
    }
  }

  private static void bind(PreparedStatement ps, String... args) throws SQLException {
    for (int i = 0; i < args.length; i++) {
      ps.setString(i + 1, args[i]);
    }
  }
}
