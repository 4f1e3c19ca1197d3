package dev.cutover.common;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * The small reads the driver's control schema and the replicator both make: a statement with its
 * parameters bound, and the first column of every row. JDBC only, so that both can share it.
 */
public final class Queries {
  private Queries() {}

  /** {@code sql} prepared on {@code c} with {@code args} bound in order; closed again if binding fails. */
  public static PreparedStatement prepare(Connection c, String sql, Object... args) throws SQLException {
    PreparedStatement ps = c.prepareStatement(sql);
    try {
      for (int i = 0; i < args.length; i++) {
        ps.setObject(i + 1, args[i]);
      }
    } catch (SQLException e) {
      ps.close();
      throw e;
    }
    return ps;
  }

  /** The first column of every row, as text. */
  public static List<String> strings(Connection c, String sql, Object... args) throws SQLException {
    List<String> out = new ArrayList<>();
    try (PreparedStatement ps = prepare(c, sql, args); ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
    }
    return out;
  }

  /**
   * Whether {@code e} comes from a statement left unanswered past its connection's network timeout
   * (PgJDBC wraps the socket's timeout, and then closes the connection).
   */
  public static boolean unanswered(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof java.net.SocketTimeoutException) {
        return true;
      }
    }
    return false;
  }
}
