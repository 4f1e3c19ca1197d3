package dev.cutover.driver.internal.jdbc;

import java.sql.CallableStatement;
import java.sql.Statement;

/** A callable statement that follows its connection like a prepared one; all else is generated. */
public abstract class LogicalCallableStatement extends LogicalPreparedStatement implements CallableStatement {
  /** The physical statement as a CallableStatement; read by generated delegation. */
  protected CallableStatement callable;

  protected LogicalCallableStatement(LogicalConnection connection, StatementRecipe recipe, String sql,
      CallableStatement cs) {
    super(connection, recipe, sql, cs);
  }

  @Override
  void use(Statement s) {
    super.use(s);
    callable = (CallableStatement) s;
  }
}
