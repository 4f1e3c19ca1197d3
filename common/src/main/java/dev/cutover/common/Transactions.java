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
    try {
      T result = work.run();
      c.commit();
      return result;
    } catch (SQLException | RuntimeException | Error e) {
      c.rollback();
      throw e;
    } finally {
      c.setAutoCommit(autoCommit);
    }
  }

  /** Runs {@code work} in one transaction on {@code c} that is always rolled back: to learn whether the server would allow it. */
  public static <T> T rolledBack(Connection c, Work<T> work) throws SQLException {
    boolean autoCommit = c.getAutoCommit();
    c.setAutoCommit(false);
    try {
      return work.run();
    } finally {
      c.rollback();
      c.setAutoCommit(autoCommit);
    }
  }
}
