package dev.cutover.driver.control;

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
 * Every call is one statement on a connection the caller owns.
 */
public final class Coordination {
  /** Prefix of an instance's state when it is ready for a switch but has not closed its gate yet. */
  static final String READY = "ready:";

  private Coordination() {}

  /** A switch other instances have started, as seen in a heartbeat. */
  public record Running(String id, Target target) {}

  /** The leader's decision on a switch; {@code state} is draining, released or aborted. */
  public record Decision(String id, String state, String marker, String reason) {
    public boolean released() {
      return "released".equals(state);
    }

    public boolean aborted() {
      return "aborted".equals(state);
    }
  }

  /** Records that {@code instance} is alive; returns the switch its peers are draining for, if any. */
  public static Optional<Running> heartbeat(Connection c, String service, String instance) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT switch_id, switch_target FROM cutover.heartbeat(?, ?)")) {
      ps.setString(1, service);
      ps.setString(2, instance);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.of(new Running(rs.getString(1), Target.parse(rs.getString(2)))) : Optional.empty();
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
    try (PreparedStatement ps = c.prepareStatement("SELECT cutover.begin_switch(?, ?, ?, ?)")) {
      ps.setString(1, service);
      ps.setString(2, proposedId);
      ps.setString(3, source.value());
      ps.setString(4, target.value());
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getString(1);
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
   * Tries to become the leader of {@code service}'s switches. The lock belongs to the session:
   * if the leader's connection dies, another instance can take over.
   */
  public static boolean tryLead(Connection c, String service) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT pg_try_advisory_lock(?, hashtext(?))")) {
      ps.setInt(1, ControlSchema.LEADER_LOCK);
      ps.setString(2, service);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getBoolean(1);
      }
    }
  }

  public static void resign(Connection c, String service) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT pg_advisory_unlock(?, hashtext(?))")) {
      ps.setInt(1, ControlSchema.LEADER_LOCK);
      ps.setString(2, service);
      ps.execute();
    }
  }

  /**
   * Creates, on the switch's target, the replication slots requested for this moment (see
   * {@code cutover.request_slot_at_switch}); a request is used once.
   *
   * @return the number of slots created
   */
  public static int createSlotsAtSwitch(Connection target) throws SQLException {
    try (PreparedStatement ps = target.prepareStatement("SELECT cutover.create_slots_at_switch()");
        ResultSet rs = ps.executeQuery()) {
      rs.next();
      return rs.getInt(1);
    }
  }

  /** Publishes the leader's decision on {@code switchId}. */
  public static void finish(Connection c, String service, String switchId, String state, String marker,
      String reason) throws SQLException {
    call(c, "SELECT cutover.finish_switch(?, ?, ?, ?, ?)", service, switchId, state, marker, reason);
  }

  /** The latest switch of {@code service}. */
  public static Optional<Decision> decision(Connection c, String service) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT * FROM cutover.switch_state(?)")) {
      ps.setString(1, service);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next()
            ? Optional.of(new Decision(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4)))
            : Optional.empty();
      }
    }
  }

  private static void call(Connection c, String sql, String... args) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        ps.setString(i + 1, args[i]);
      }
      ps.execute();
    }
  }
}
