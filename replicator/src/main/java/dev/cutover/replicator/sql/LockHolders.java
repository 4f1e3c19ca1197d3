package dev.cutover.replicator.sql;

import dev.cutover.common.TransactionHolders;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Who holds a lock, named with how to end it: a transaction prepared for two-phase commit (a
 * crashed XA manager's branch) holds its locks until COMMIT or ROLLBACK PREPARED, for hours if
 * nobody looks, and a session idle in transaction until it ends; both stall what waits behind them
 * without a word. A prepared transaction's locks have no process in {@code pg_locks} (and {@code
 * pg_blocking_pids} says 0), so each holder is found by its virtual transaction's lock on its own
 * transaction id, and described by {@link TransactionHolders} (a prepared one by its gid).
 */
public final class LockHolders {
  /** The transaction id of each holder ({@code h}, in the query it ends) that has one. */
  private static final String IDS = "SELECT x.transactionid::text FROM pg_catalog.pg_locks x WHERE x.locktype = 'transactionid'"
      + " AND x.mode = 'ExclusiveLock' AND x.granted AND x.virtualtransaction IN (";

  private LockHolders() {}

  /** Those holding the lock process {@code pid} waits for on {@code c}'s server, with the remedy on {@code side}; "" when none. */
  public static String blocking(Connection c, int pid, String side) throws SQLException {
    return describe(c, new HashSet<>(Sql.strings(c, IDS + "SELECT h.virtualtransaction FROM pg_catalog.pg_locks w JOIN pg_catalog.pg_locks h"
        + " ON (h.locktype, h.database, h.relation, h.page, h.tuple, h.virtualxid, h.transactionid, h.classid, h.objid, h.objsubid)"
        + " IS NOT DISTINCT FROM (w.locktype, w.database, w.relation, w.page, w.tuple, w.virtualxid, w.transactionid, w.classid,"
        + " w.objid, w.objsubid) AND h.granted AND h.pid IS DISTINCT FROM w.pid WHERE w.pid = ?::int AND NOT w.granted)",
        Integer.toString(pid))), side);
  }

  /** Those other than this session holding a lock on {@code table} (of {@code c}'s database), with the remedy on {@code side}; "" when none. */
  public static String ofTable(Connection c, String table, String side) throws SQLException {
    return describe(c, onTables(c, List.of(table), false), side);
  }

  /**
   * The transaction ids of those other than this session holding a lock on any of {@code regclasses}
   * (of {@code c}'s database); with {@code blockingWrites}, only locks that keep writers out (not
   * ACCESS SHARE or ROW SHARE).
   */
  public static Set<String> onTables(Connection c, List<String> regclasses, boolean blockingWrites) throws SQLException {
    return new HashSet<>(Sql.strings(c, IDS + "SELECT h.virtualtransaction FROM pg_catalog.pg_locks h WHERE h.locktype = 'relation'"
        + " AND h.database = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())"
        + " AND h.relation = ANY (?::regclass[]) AND h.granted AND h.pid IS DISTINCT FROM pg_catalog.pg_backend_pid()"
        + (blockingWrites ? " AND h.mode NOT IN ('AccessShareLock', 'RowShareLock')" : "") + ")",
        c.createArrayOf("text", regclasses.toArray())));
  }

  private static String describe(Connection c, Set<String> ids, String side) throws SQLException {
    String held = TransactionHolders.describe(c, ids, "");
    return held.isEmpty() ? "" : held + " (COMMIT PREPARED or ROLLBACK PREPARED a prepared one on " + side
        + ", end a session's with pg_terminate_backend(pid) on " + side + ")";
  }
}
