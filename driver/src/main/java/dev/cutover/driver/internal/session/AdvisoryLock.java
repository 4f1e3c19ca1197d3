package dev.cutover.driver.internal.session;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A session-level advisory lock as {@code pg_locks} shows it: one bigint key ({@code objsubid} 1,
 * its high and low halves in {@code classid} and {@code objid}) or two int keys ({@code objsubid} 2).
 *
 * @param classid {@code pg_locks.classid}, unsigned
 * @param objid {@code pg_locks.objid}, unsigned
 * @param objsubid 1 for a bigint key, 2 for a pair of int keys
 * @param shared whether it is held in share mode
 */
public record AdvisoryLock(long classid, long objid, int objsubid, boolean shared) {
  /** The lock from a row of {@code pg_locks}: classid, objid, objsubid and mode as text. */
  static AdvisoryLock of(String classid, String objid, String objsubid, String mode) {
    return new AdvisoryLock(Long.parseLong(classid), Long.parseLong(objid), Integer.parseInt(objsubid),
        "ShareLock".equals(mode));
  }

  /**
   * The session-level advisory locks the server processes {@code backends} hold in the current
   * database, read in one statement from another session ({@code pg_locks} shows every session's).
   * A process counts only if its start matches too: a process id outlives its process, and another
   * session's process may have it since. The caller reads only backends that ran on the server
   * {@code c} reaches ({@link Backend#sameServer}): on another, the same process id and start prove
   * nothing.
   *
   * @return the locks by process id, for the processes that hold any
   */
  public static Map<Integer, List<AdvisoryLock>> heldBy(Connection c, Collection<Backend> backends) throws SQLException {
    Map<Integer, List<AdvisoryLock>> held = new HashMap<>();
    if (backends.isEmpty()) {
      return held;
    }
    // unnest unqualified: only that spelling takes several arrays (zipped), in FROM
    try (PreparedStatement ps = c.prepareStatement("SELECT l.pid, l.classid::bigint, l.objid::bigint, l.objsubid,"
        + " l.mode FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid"
        + " JOIN unnest(?::int4[], ?::text[]) s(pid, started) ON s.pid = a.pid AND " + Backend.START
        + " = s.started WHERE l.locktype = 'advisory' AND l.granted"
        + " AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())")) {
      ps.setArray(1, c.createArrayOf("int4", backends.stream().map(Backend::pid).toArray()));
      ps.setArray(2, c.createArrayOf("text", backends.stream().map(Backend::started).toArray()));
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          held.computeIfAbsent(rs.getInt(1), p -> new ArrayList<>()).add(
              new AdvisoryLock(rs.getLong(2), rs.getLong(3), rs.getInt(4), "ShareLock".equals(rs.getString(5))));
        }
      }
    }
    return held;
  }

  /** A call that takes the lock without waiting and answers whether it got it. */
  String tryLockCall() {
    String function = shared ? "pg_catalog.pg_try_advisory_lock_shared" : "pg_catalog.pg_try_advisory_lock";
    return function + "(" + keys() + ")";
  }

  private String keys() {
    // Parenthesised: a cast binds tighter than the minus of a negative literal.
    if (objsubid == 2) {
      return "(" + (int) classid + ")::int4, (" + (int) objid + ")::int4";
    }
    return "(" + ((classid << 32) | objid) + ")::int8";
  }

  /** As the application wrote it: {@code advisory lock 42} or {@code advisory lock (1, 2)}. */
  @Override
  public String toString() {
    String key = objsubid == 2 ? "(" + (int) classid + ", " + (int) objid + ")" : Long.toString((classid << 32) | objid);
    return (shared ? "shared " : "") + "advisory lock " + key;
  }
}
