package dev.cutover.driver.control;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;

/** Raises and lowers the write fence of one database through the control schema. */
public final class Fence {
  private Fence() {}

  /**
   * Raises the fence, then waits (up to {@code lockTimeout}) until every write that passed the
   * guard before it has ended, so that none can commit afterwards.
   *
   * @return the number of guarded tables
   */
  public static int raise(Connection c, Duration lockTimeout) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT cutover.raise_fence(?)")) {
      ps.setInt(1, (int) Math.min(Integer.MAX_VALUE, Math.max(1, lockTimeout.toMillis())));
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getInt(1);
      }
    }
  }

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
