package dev.cutover.driver.control;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * The lock that lets installers and uninstallers of the control schema go one at a time. It must
 * work before the schema exists, so it is an advisory lock with a fixed key, which any role that
 * may connect can also take: it is waited for under the caller's short lock timeout and retried
 * like every other lock of an install, and when it stays busy the refusal names its holder instead
 * of the command hanging for as long as that session lives.
 */
final class InstallLock {
  private static final long KEY = 0x63_75_74_6f_76_65_72L; // "cutover"

  /** The install lock was busy for one attempt; SQLSTATE 55P03, so the attempt is retried. */
  static final class Busy extends SQLException {
    Busy(SQLException cause) {
      super(cause.getMessage(), cause.getSQLState(), cause);
    }
  }

  private InstallLock() {}

  /** Takes the lock for the transaction, waiting at most the lock timeout {@code s}'s transaction set. */
  static void take(Statement s) throws SQLException {
    try {
      s.execute("SELECT pg_advisory_xact_lock(" + KEY + ")");
    } catch (SQLException e) {
      throw "55P03".equals(e.getSQLState()) ? new Busy(e) : e;
    }
  }

  /**
   * The refusal once every attempt found the lock busy: who holds it (a process, and where the
   * caller may see it, its role and application) and what to do.
   */
  static SQLException refusal(Connection c, String waited) throws SQLException {
    String holder = null;
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT l.pid, 'process ' || l.pid"
        + " || coalesce(' (role ' || a.usename || coalesce(', application ' || quote_literal(nullif(a.application_name, '')),"
        + " '') || coalesce(', connected since ' || a.backend_start, '') || ')', '')"
        + " FROM pg_catalog.pg_locks l LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid"
        + " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
        + " AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())"
        + " AND l.classid = " + (KEY >>> 32) + " AND l.objid = " + (KEY & 0xffff_ffffL)
        + " AND l.pid IS DISTINCT FROM pg_catalog.pg_backend_pid() LIMIT 1")) {
      if (rs.next()) {
        holder = rs.getString(2) + "; end it if it is no install of Cutover's (SELECT pg_terminate_backend("
            + rs.getInt(1) + "))";
      }
    }
    return new SQLException("cutover: the control schema's install lock on this database (pg_advisory_xact_lock(" + KEY
        + ")) stayed busy for " + waited + ": " + (holder != null
            ? "held by " + holder + ", or let it finish if it is another install or uninstall at work"
            : "its holder has let it go since; try again"), "55P03");
  }
}
