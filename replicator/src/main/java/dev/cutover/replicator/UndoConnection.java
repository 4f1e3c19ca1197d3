package dev.cutover.replicator;

import java.sql.Connection;
import java.sql.SQLException;

/**
 * The connection a failed step is undone with: the step's own while it still answers, else a new
 * one to the same endpoint. The failure being undone may be exactly that the step's connection was
 * lost (reset, or given up); undoing over it would fail too and leave new half-filled, its indexes
 * set aside, so that start could not simply be run again. Decided at the first {@link #get}, so
 * that an undo still does what it can on one side when the other cannot be reached. A connection
 * that does not answer is closed first, so that a session the server still keeps for it holds the
 * locks the undo needs no longer than the server takes to notice. Closing this closes only a new
 * connection.
 */
public final class UndoConnection implements AutoCloseable {
  /** How long the step's own connection has to answer. */
  private static final int ANSWER_WITHIN_SECONDS = 5;

  private final Connection used;
  private final Endpoint endpoint;
  private Connection connection;

  public UndoConnection(Connection used, Endpoint endpoint) {
    this.used = used;
    this.endpoint = endpoint;
  }

  /** The step's connection, or a new one to its endpoint where it does not answer. */
  public Connection get() throws ReplicatorException {
    if (connection == null) {
      if (answers(used)) {
        connection = used;
      } else {
        try {
          used.close();
        } catch (SQLException alreadyGone) {
          // A lost connection has nothing left to close.
        }
        connection = endpoint.connect();
      }
    }
    return connection;
  }

  private static boolean answers(Connection c) {
    try {
      return c.isValid(ANSWER_WITHIN_SECONDS);
    } catch (SQLException e) {
      return false;
    }
  }

  @Override
  public void close() throws SQLException {
    if (connection != null && connection != used) {
      connection.close();
    }
  }
}
