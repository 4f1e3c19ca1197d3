package dev.cutover.replicator.sql;

import static dev.cutover.common.Transactions.inTransaction;

import dev.cutover.common.LockRetry;
import dev.cutover.common.Transactions;
import dev.cutover.common.TransactionHolders;
import dev.cutover.replicator.Failure;
import dev.cutover.replicator.ReplicatorException;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Statements that lock tables the application uses (CREATE TRIGGER, ALTER TABLE), run so that the
 * application never waits long behind them: a lock request queues, and every later reader or writer
 * of the table queues behind it, so one that waited for a long transaction, an idle session or a
 * prepared transaction would hold the application for as long. Each try runs in a transaction
 * under {@code lock_timeout = 200ms}, and tries are repeated with a growing pause
 * ({@link LockRetry}) for up to two minutes; then a refusal naming the side, the tables and what
 * holds them.
 */
public final class ShortLocks {
  /** How long the tries go on. */
  public static final Duration TRYING = Duration.ofMinutes(2);
  /** SQL: a row of pg_locks {@code r} is of this database (relation oids are per database). */
  private static final String THIS_DATABASE = " AND r.database = (SELECT d.oid FROM pg_catalog.pg_database d"
      + " WHERE d.datname = pg_catalog.current_database())";

  private ShortLocks() {}

  /**
   * Runs {@code work} (which takes the locks) in a transaction under a 200 ms lock timeout, tried
   * again while the locks are busy; a refusal after {@link #TRYING} says {@code purpose} (e.g. "to
   * add the capture triggers") and names {@code side} and {@code tables}.
   */
  public static <T> T run(Connection c, String side, List<TableName> tables, String purpose, Transactions.Work<T> work)
      throws SQLException, ReplicatorException {
    return run(c, side, tables, purpose, TRYING, work);
  }

  /** {@link #run(Connection, String, List, String, Transactions.Work)}, tried for {@code trying}. */
  public static <T> T run(Connection c, String side, List<TableName> tables, String purpose, Duration trying,
      Transactions.Work<T> work) throws SQLException, ReplicatorException {
    try {
      return LockRetry.within(trying, () -> inTransaction(c, () -> {
        Sql.execute(c, "SET LOCAL lock_timeout = '200ms'");
        return work.run();
      }));
    } catch (SQLException e) {
      if (LockRetry.refusedForALock(e)) {
        throw busy(c, side, tables, purpose, trying, e);
      }
      throw e;
    }
  }

  /**
   * The refusal for {@code e}, a lock refused after tries of {@code trying}, when transactions hold
   * some of {@code tables} now: only those named, with what holds them; empty when none does (the
   * lock waited for was another).
   */
  public static Optional<ReplicatorException> held(Connection c, String side, List<TableName> tables, String purpose,
      Duration trying, SQLException e) {
    List<TableName> held;
    try {
      held = Sql.strings(c, "SELECT u.i FROM unnest(?::regclass[]) WITH ORDINALITY u(rel, i) WHERE EXISTS (SELECT 1"
          + " FROM pg_catalog.pg_locks r WHERE r.locktype = 'relation' AND r.relation = u.rel AND r.granted" + THIS_DATABASE
          + " AND r.mode NOT IN ('AccessShareLock', 'RowShareLock') AND r.pid IS DISTINCT FROM pg_catalog.pg_backend_pid()) ORDER BY u.i",
          c.createArrayOf("text", tables.stream().map(TableName::regclass).toArray())).stream()
          .map(i -> tables.get(Integer.parseInt(i) - 1)).toList();
    } catch (SQLException unread) {
      e.addSuppressed(unread);
      return Optional.empty();
    }
    return held.isEmpty() ? Optional.empty() : Optional.of(busy(c, side, held, purpose, trying, e));
  }

  /**
   * Locks {@code table} (only it, not its partitions or children) in {@code mode} ("ACCESS
   * EXCLUSIVE") as the first statement of the transaction {@code c} is about to begin (autocommit
   * off), which the caller goes on with: tried
   * 200 ms at a time for {@link #TRYING}, each try that times out rolling back a transaction that
   * holds nothing yet; the lock timeout is put back to its default for the rest of it (the
   * replicator's sessions set none of their own).
   */
  public static void first(Connection c, String side, TableName table, String mode, String purpose)
      throws SQLException, ReplicatorException {
    first(c, side, table, mode, purpose, TRYING);
  }

  /** {@link #first(Connection, String, TableName, String, String)}, tried for {@code trying}. */
  static void first(Connection c, String side, TableName table, String mode, String purpose, Duration trying)
      throws SQLException, ReplicatorException {
    try {
      LockRetry.within(trying, () -> {
        try {
          Sql.execute(c, "SET LOCAL lock_timeout = '200ms'; LOCK TABLE ONLY " + table.quoted() + " IN " + mode + " MODE;"
              + " SET LOCAL lock_timeout = DEFAULT");
          return null;
        } catch (SQLException e) {
          Transactions.afterRollback(c, false, e);
          throw e;
        }
      });
    } catch (SQLException e) {
      if (LockRetry.refusedForALock(e)) {
        throw busy(c, side, List.of(table), purpose, trying, e);
      }
      throw e;
    }
  }

  private static ReplicatorException busy(Connection c, String side, List<TableName> tables, String purpose, Duration trying,
      SQLException e) {
    String them = tables.size() == 1 ? "it" : "them";
    return new ReplicatorException(Failure.TIMEOUT, side + ": could not lock " + tables.stream().map(TableName::toString)
        .collect(Collectors.joining(", ")) + " " + purpose + ": transactions held " + them + " at every try (for "
        + (trying.toMillis() + 999) / 1000 + " s)" + holders(c, tables, e), "end the transactions that hold " + them + " (pg_locks joined to pg_stat_activity on "
        + side + " names them; one left idle in transaction holds its locks until it ends, and one prepared for two-phase"
        + " commit, listed in pg_prepared_xacts, until COMMIT or ROLLBACK PREPARED), then run the command again", e);
  }

  /**
   * What holds a lock on {@code tables} that writes conflict with, described as {@link
   * TransactionHolders} describes a transaction (a prepared one by its gid): each holder's
   * transaction id lock shares its virtual transaction with its table lock. "" where none holds
   * one with a transaction id, or the locks cannot be read ({@code e} keeps why).
   */
  private static String holders(Connection c, List<TableName> tables, SQLException e) {
    try {
      Set<String> ids = LockHolders.onTables(c, tables.stream().map(TableName::regclass).toList(), true);
      return TransactionHolders.describe(c, ids, "; holding " + (tables.size() == 1 ? "it" : "them") + " now: ");
    } catch (SQLException unread) {
      e.addSuppressed(unread);
      return "";
    }
  }
}
