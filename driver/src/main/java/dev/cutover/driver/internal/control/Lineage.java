package dev.cutover.driver.internal.control;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Whether a database came back from a standby that missed what its lost primary did for a switch,
 * read from the barrier markers both sides hold ({@code cutover.recent_barriers}): a marker travels
 * from the side that wrote it to the other, so one the other side holds and the writer does not
 * was written on a primary the writer has since lost. An install from before the function answers
 * nothing here (empty): the checks then decide as they did without it.
 */
public final class Lineage {
  private Lineage() {}

  /**
   * The barrier markers {@code target} received by replication in the last 12 hours that
   * {@code source} does not hold: written there by a switch on a primary that {@code source} came
   * back without (failed over to a standby that missed them).
   */
  public static List<String> lostOnSource(Connection source, Connection target, String service) throws SQLException {
    List<String> lost = new ArrayList<>();
    for (String[] m : recent(target, service)) {
      if (m[1] == null && !Barrier.arrived(source, m[0])) {
        lost.add(m[0]);
      }
    }
    return lost;
  }

  /**
   * The barrier marker {@code source} wrote for {@code switchId} of {@code service}, if it has
   * arrived on {@code target}: that switch got past its barrier, so a primary of {@code source} may
   * have released it and {@code target} may serve, whatever {@code source} records now.
   */
  public static Optional<String> barrierPassed(Connection source, Connection target, String service, String switchId)
      throws SQLException {
    for (String[] m : recent(source, service)) {
      if (switchId.equals(m[1]) && Barrier.arrived(target, m[0])) {
        return Optional.of(m[0]);
      }
    }
    return Optional.empty();
  }

  /**
   * The instances of {@code service} heartbeating on {@code c} within {@code ttl} that say they
   * serve {@code side}, other than {@code self}.
   */
  public static List<String> liveServing(Connection c, String service, String side, String self, java.time.Duration ttl)
      throws SQLException {
    List<String> live = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement("SELECT instance_name FROM cutover.service_instances(?)"
        + " WHERE serving = ? AND heartbeat_age_ms < ? AND instance_name IS DISTINCT FROM ?")) {
      ps.setString(1, service);
      ps.setString(2, side);
      ps.setLong(3, ttl.toMillis());
      ps.setString(4, self);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          live.add(rs.getString(1));
        }
      }
    }
    return live;
  }

  /** Whether a session holds the leader lock of {@code service}'s current switch on {@code c}. */
  public static boolean led(Connection c, String service) throws SQLException {
    return Coordination.bool(c, "SELECT cutover.switch_leader_pid(?) IS NOT NULL", service);
  }

  private static List<String[]> recent(Connection c, String service) throws SQLException {
    List<String[]> markers = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement("SELECT marker, switch_id FROM cutover.recent_barriers(?)")) {
      ps.setString(1, service);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          markers.add(new String[] {rs.getString(1), rs.getString(2)});
        }
      }
    } catch (SQLException e) {
      if (Coordination.UNDEFINED_FUNCTION.equals(e.getSQLState())) {
        return List.of(); // an install from before the function: nothing to tell
      }
      throw e;
    }
    return markers;
  }
}
