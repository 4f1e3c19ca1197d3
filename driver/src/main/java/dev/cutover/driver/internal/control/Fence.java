package dev.cutover.driver.internal.control;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;

/**
 * The write fence of one database. Raising it is a step of a switch, refused server-side unless
 * the caller leads that switch; it is lowered by the switch's abort, by the release of a switch
 * back to this database, or by the installer in an emergency ({@link #lower}).
 */
public final class Fence {
  private Fence() {}

  /**
   * Raises the fence for {@code switchId}, which this session leads as {@code instance} (it holds the switch's leader
   * lock, see {@link Coordination#tryLead}), after guarding tables created since the install; then
   * waits (up to {@code lockTimeout}) until every write that passed the guard before it has ended,
   * so that none can commit afterwards. A raise that fails lowers the fence it raised.
   *
   * @return the fence's epoch (odd), which stays the same for as long as the fence stands
   * @throws SQLException 42501 naming a table the installer cannot guard, or when this session
   *     does not lead; 55P03 when a writer outlived {@code lockTimeout}
   */
  public static long raise(Connection c, String service, String switchId, String instance, Duration lockTimeout)
      throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT cutover.raise_fence(?, ?, ?, ?)")) {
      ps.setString(1, service);
      ps.setString(2, switchId);
      ps.setString(3, instance);
      ps.setInt(4, (int) Math.min(Integer.MAX_VALUE, Math.max(1, lockTimeout.toMillis())));
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  /**
   * Lowers the fence whatever switch raised it: for the installer only (no application role may
   * call it), to recover from a switch that could not lower it. Lowering the old side's fence after
   * a completed switch lets writes land where they are lost (I2).
   */
  public static void lower(Connection c) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute("SELECT cutover.lower_fence()");
    }
  }

  public static boolean isRaised(Connection c) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT cutover.fence_raised()")) {
      rs.next();
      return rs.getBoolean(1);
    }
  }
}
