package dev.cutover.driver.internal.control;

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
import java.util.OptionalInt;

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
   * can hold it in advance.
   */
  public static boolean tryLead(Connection c, String service, String switchId) throws SQLException {
    return bool(c, "SELECT pg_try_advisory_lock(" + ControlSql.LEADER_LOCK + ", cutover.lead_key(?, ?))",
        service, switchId);
  }

  public static void resign(Connection c, String service, String switchId) throws SQLException {
    call(c, "SELECT pg_advisory_unlock(" + ControlSql.LEADER_LOCK + ", cutover.lead_key(?, ?))", service, switchId);
  }

  /**
   * On the switch's target, after its release: takes the switch's lock there and, when it got it,
   * opens the target: creates the replication slots the replicator requested for this moment (a
   * request is used once), then lowers its fence if a switch away from it had raised it. Any
   * instance that follows the release may do it (it is idempotent), but the server refuses (55000)
   * once the target's fence is no longer the one the release recorded: a later switch left it again.
   * One statement; the lock stays with the session.
   *
   * @param targetEpoch the target's fence epoch the release recorded ({@link #targetEpoch})
   * @return the number of slots created, or empty when another session holds the lock
   */
  public static OptionalInt openTarget(Connection target, String service, String switchId, long targetEpoch)
      throws SQLException {
    try (PreparedStatement ps = target.prepareStatement("SELECT CASE WHEN pg_try_advisory_lock(" + ControlSql.LEADER_LOCK
        + ", cutover.lead_key(?, ?)) THEN cutover.open_target(?, ?, ?) END")) {
      bind(ps, service, switchId, service, switchId);
      ps.setLong(5, targetEpoch);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        int slots = rs.getInt(1);
        return rs.wasNull() ? OptionalInt.empty() : OptionalInt.of(slots);
      }
    }
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
   * Aborts {@code switchId} and lowers the fence it raised (or that a raise which died left
   * standing). Refused while another session of the control plane leads it.
   *
   * @return false when the switch had been released already: the decision stands
   */
  public static boolean abort(Connection c, String service, String switchId, String reason) throws SQLException {
    // The switch's state as it ends, or 'superseded' when a later switch replaced it.
    return !SwitchState.RELEASED.value().equals(string(c, "SELECT cutover.abort_switch(?, ?, ?)", service, switchId,
        reason));
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

  private static boolean bool(Connection c, String sql, String... args) throws SQLException {
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
