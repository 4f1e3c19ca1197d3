package dev.cutover.driver.internal.jdbc;

import java.sql.PreparedStatement;
import java.sql.SQLException;

/**
 * A prepared statement that remembers its parameters, so that one prepared before a switch and
 * executed after it runs on the new side with the same values. The parameter setters are
 * generated: each delegates, then records its call in the state's {@link ParameterLog}.
 */
public abstract class LogicalPreparedStatement extends LogicalStatement implements PreparedStatement {
  protected LogicalPreparedStatement(StatementState state) {
    super(state);
  }

  /** The physical statement as a PreparedStatement; read by generated delegation. */
  protected final PreparedStatement prepared() throws SQLException {
    return live().prepared;
  }

  /** What the generated setters record into, after delegating. */
  final ParameterLog parameters() throws SQLException {
    return live().parameters;
  }

  @Override
  public void clearParameters() throws SQLException {
    StatementState s = live();
    s.prepared.clearParameters();
    s.parameters.clear();
  }

  @Override
  public void addBatch() throws SQLException {
    StatementState s = live();
    s.prepared.addBatch();
    s.parameters.addBatch();
  }
}
