package dev.cutover.replicator.sql;

import static dev.cutover.common.Transactions.inTransaction;

import dev.cutover.common.LockRetry;
import dev.cutover.common.Transactions;
import dev.cutover.replicator.Failure;
import dev.cutover.replicator.ReplicatorException;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
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
        throw busy(side, tables, purpose, trying, e);
      }
      throw e;
    }
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
        throw busy(side, List.of(table), purpose, trying, e);
      }
      throw e;
    }
  }

  private static ReplicatorException busy(String side, List<TableName> tables, String purpose, Duration trying,
      SQLException e) {
    String them = tables.size() == 1 ? "it" : "them";
    return new ReplicatorException(Failure.TIMEOUT, side + ": could not lock " + tables.stream().map(TableName::toString)
        .collect(Collectors.joining(", ")) + " " + purpose + ": transactions held " + them + " at every try (for "
        + (trying.toMillis() + 999) / 1000 + " s)", "end the transactions that hold " + them + " (pg_locks joined to pg_stat_activity on "
        + side + " names them; one left idle in transaction holds its locks until it ends, and one prepared for two-phase"
        + " commit, listed in pg_prepared_xacts, until COMMIT or ROLLBACK PREPARED), then run the command again", e);
  }
}
