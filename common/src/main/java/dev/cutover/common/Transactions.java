package dev.cutover.common;

import java.sql.Connection;
import java.sql.SQLException;

/**
 * The one way Cutover runs work in one transaction on a connection it was handed: auto-commit off
 * for the work, commit when it returns, rollback when it throws anything (so that restoring
 * auto-commit never commits half of it), and the connection's auto-commit as it was afterwards;
 * or a probe that is always rolled back.
 * JDBC only, so that the driver's control schema and the replicator share it.
 */
public final class Transactions {
  private Transactions() {}

  /** Work that runs inside the transaction. */
  @FunctionalInterface
  public interface Work<T> {
    T run() throws SQLException;
  }

  /** Runs {@code work} in one transaction on {@code c} and returns what it returned. */
  public static <T> T inTransaction(Connection c, Work<T> work) throws SQLException {
    boolean autoCommit = c.getAutoCommit();
    c.setAutoCommit(false);
    T result;
    try {
      result = work.run();
      c.commit();
    } catch (SQLException | RuntimeException | Error e) {
      afterRollback(c, autoCommit, e);
      throw e;
    }
    c.setAutoCommit(autoCommit);
    return result;
  }

  /**
   * Rolls back and puts auto-commit back after {@code failure}, which the caller then throws. A
   * connection the failure closed (PgJDBC closes one whose statement went unanswered) refuses both;
   * that refusal is kept as suppressed, so that the caller still sees what failed first (a timeout
   * that names a silent side, not "This connection has been closed").
   */
  public static void afterRollback(Connection c, boolean autoCommit, Throwable failure) {
    try {
      c.rollback();
      c.setAutoCommit(autoCommit);
    } catch (SQLException refused) {
      failure.addSuppressed(refused);
    }
  }

  /**
   * Runs {@code work} in one transaction on {@code c} that is always rolled back: to learn whether
   * the server would allow it. A failure of the work is what the caller sees, as with {@link
   * #inTransaction} ({@link #afterRollback}).
   */
  public static <T> T rolledBack(Connection c, Work<T> work) throws SQLException {
    boolean autoCommit = c.getAutoCommit();
    c.setAutoCommit(false);
    T result;
    try {
      result = work.run();
    } catch (SQLException | RuntimeException | Error e) {
      afterRollback(c, autoCommit, e);
      throw e;
    }
    c.rollback();
    c.setAutoCommit(autoCommit);
    return result;
  }
}
