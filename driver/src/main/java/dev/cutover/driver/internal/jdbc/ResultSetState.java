package dev.cutover.driver.internal.jdbc;

import dev.cutover.flags.Target;
import java.sql.ResultSet;

/**
 * What a {@link LogicalResultSet} holds, apart from the object the application holds: a result
 * set closed by the application gives it back to its statement, whose next results take it
 * ({@link StatementState#takeResults}). The result set drops its pointer first, so a closed one
 * never reaches later results.
 */
final class ResultSetState {
  final LogicalConnection connection;
  /** The statement that produced the results, or null for metadata results. */
  LogicalStatement owner;
  /** The physical result set. */
  ResultSet results;
  /** The side the results were read on, for the message that refuses a row write after a move. */
  Target side;

  ResultSetState(LogicalConnection connection) {
    this.connection = connection;
  }

  ResultSetState start(LogicalStatement owner, ResultSet results) {
    this.owner = owner;
    this.results = results;
    this.side = connection.side();
    return this;
  }
}
