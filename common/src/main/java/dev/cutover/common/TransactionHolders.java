package dev.cutover.common;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The transactions that hold a transaction id on a server, in any database: those a logical
 * replication slot's creation waits for. Read from {@code pg_locks} (each holds the lock on its own
 * id), which every role may read; the details of another role's session come from {@code
 * pg_stat_activity} only where the role may see them, and a prepared transaction's from {@code
 * pg_prepared_xacts}. In common, as the driver and the replicator (its lock refusals) both name them.
 */
public final class TransactionHolders {
  private static final int NAMED = 5;

  private TransactionHolders() {}

  /** The ids of the transactions holding one now, other than the caller's. */
  public static Set<String> now(Connection c) throws SQLException {
    Set<String> ids = new HashSet<>();
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT l.transactionid::text FROM pg_catalog.pg_locks l"
        + " WHERE l.locktype = 'transactionid' AND l.mode = 'ExclusiveLock' AND l.granted"
        + " AND l.pid IS DISTINCT FROM pg_catalog.pg_backend_pid()")) {
      while (rs.next()) {
        ids.add(rs.getString(1));
      }
    }
    return ids;
  }

  /**
   * Those of {@code ids} still running, described (a prepared transaction by its gid, owner and
   * database; a session by its process, and where visible its role, database, state and start), the
   * oldest first, after {@code lead}; or "" when none is.
   */
  public static String describe(Connection c, Set<String> ids, String lead) throws SQLException {
    if (ids.isEmpty()) {
      return "";
    }
    List<String> found = new ArrayList<>();
    int count = 0;
    try (PreparedStatement ps = c.prepareStatement("SELECT coalesce('prepared transaction ' || pg_catalog.quote_literal(p.gid)"
        + " || ' of role ' || p.owner || ' in database ' || p.database || ' since ' || p.prepared, 'process ' || l.pid"
        + " || coalesce(' (role ' || a.usename || ', database ' || a.datname || coalesce(', ' || a.state, '')"
        + " || coalesce(', since ' || a.xact_start, '') || ')', '')), count(*) OVER ()"
        + " FROM pg_catalog.pg_locks l LEFT JOIN pg_catalog.pg_prepared_xacts p ON p.transaction = l.transactionid"
        + " LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid"
        + " WHERE l.locktype = 'transactionid' AND l.mode = 'ExclusiveLock' AND l.granted"
        + " AND l.transactionid::text = ANY (?) AND l.pid IS DISTINCT FROM pg_catalog.pg_backend_pid()"
        + " ORDER BY coalesce(p.prepared, a.xact_start) NULLS LAST, l.pid LIMIT " + NAMED)) {
      ps.setArray(1, c.createArrayOf("text", ids.toArray()));
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          found.add(rs.getString(1));
          count = rs.getInt(2);
        }
      }
    }
    if (found.isEmpty()) {
      return "";
    }
    return lead + count + " transaction(s): " + String.join("; ", found) + (count > found.size() ? "; ..." : "");
  }

  /** The ids of {@code ids} still held. */
  public static Set<String> left(Connection c, Set<String> ids) throws SQLException {
    Set<String> running = now(c);
    running.retainAll(ids);
    return running;
  }
}
