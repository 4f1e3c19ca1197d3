package dev.cutover.driver.internal.jdbc;

import java.sql.CallableStatement;
import java.sql.SQLException;

/** A callable statement that follows its connection like a prepared one; all else is generated. */
public abstract class LogicalCallableStatement extends LogicalPreparedStatement implements CallableStatement {
  protected LogicalCallableStatement(StatementState state) {
    super(state);
  }

  /** The physical statement as a CallableStatement; read by generated delegation. */
  protected final CallableStatement callable() throws SQLException {
    return live().callable;
  }
}
