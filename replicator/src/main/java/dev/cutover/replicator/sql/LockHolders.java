package dev.cutover.replicator.sql;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;

/**
 * Who holds a lock, named with how to end it: a transaction prepared for two-phase commit (a
 * crashed XA manager's branch) holds its locks until COMMIT or ROLLBACK PREPARED, for hours if
 * nobody looks, and a session idle in transaction until it ends; both stall what waits behind them
 * without a word. Read from {@code pg_locks}, where a prepared transaction's locks have no process
 * (and {@code pg_blocking_pids} says 0): it is found by the lock on its own transaction id, which
 * {@code pg_prepared_xacts} lists; a session's details come from {@code pg_stat_activity}.
 */
public final class LockHolders {
  /** At most this many are named. */
  private static final int NAMED = 5;

  private LockHolders() {}

  /** Those holding the lock that process {@code pid} waits for on {@code c}'s server, described for {@code side}; "" when none. */
  public static String blocking(Connection c, int pid, String side) throws SQLException {
    return describe(c, "SELECT h.pid, h.virtualtransaction FROM pg_catalog.pg_locks w JOIN pg_catalog.pg_locks h"
        + " ON (h.locktype, h.database, h.relation, h.page, h.tuple, h.virtualxid, h.transactionid, h.classid, h.objid, h.objsubid)"
        + " IS NOT DISTINCT FROM (w.locktype, w.database, w.relation, w.page, w.tuple, w.virtualxid, w.transactionid, w.classid,"
        + " w.objid, w.objsubid) AND h.granted AND h.pid IS DISTINCT FROM w.pid WHERE w.pid = ?::int AND NOT w.granted",
        side, Integer.toString(pid));
  }

  /** Those other than this session holding a lock on {@code table} (of {@code c}'s database), described for {@code side}; "" when none. */
  public static String ofTable(Connection c, String table, String side) throws SQLException {
    return describe(c, "SELECT h.pid, h.virtualtransaction FROM pg_catalog.pg_locks h WHERE h.locktype = 'relation'"
        + " AND h.database = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())"
        + " AND h.relation = ?::regclass AND h.granted AND h.pid IS DISTINCT FROM pg_catalog.pg_backend_pid()", side, table);
  }

  /** Each holder {@code held} selects ({@code pid}, {@code virtualtransaction}), the oldest first, with its remedy, joined by "; ". */
  private static String describe(Connection c, String held, String side, String arg) throws SQLException {
    List<String> found = Sql.strings(c, "WITH held(pid, vxid) AS (" + held + ")"
        + " SELECT coalesce('prepared transaction ' || pg_catalog.quote_literal(p.gid) || ' (role ' || p.owner || ', database '"
        + " || p.database || ', prepared ' || p.prepared || '): COMMIT PREPARED or ROLLBACK PREPARED it on ' || ?,"
        + " CASE WHEN x.pid IS NULL THEN 'a prepared transaction (pg_prepared_xacts lists them): COMMIT PREPARED or ROLLBACK"
        + " PREPARED it on ' || ? END,"
        + " 'process ' || x.pid || coalesce(' (role ' || a.usename || coalesce(', ' || a.state || ' since ' || a.state_change, '')"
        + " || ')', '') || ': end it (pg_terminate_backend(' || x.pid || ') on ' || ? || ')')"
        + " FROM (SELECT DISTINCT pid, vxid FROM held) x"
        + " LEFT JOIN pg_catalog.pg_locks t ON x.pid IS NULL AND t.pid IS NULL AND t.virtualtransaction = x.vxid"
        + " AND t.locktype = 'transactionid' AND t.mode = 'ExclusiveLock'"
        + " LEFT JOIN pg_catalog.pg_prepared_xacts p ON p.transaction = t.transactionid"
        + " LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = x.pid"
        + " ORDER BY coalesce(p.prepared, a.xact_start) NULLS LAST, x.pid LIMIT " + (NAMED + 1), arg, side, side, side);
    return String.join("; ", found.subList(0, Math.min(NAMED, found.size()))) + (found.size() > NAMED ? "; ..." : "");
  }
}
