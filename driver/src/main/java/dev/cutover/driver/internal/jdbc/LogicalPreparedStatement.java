package dev.cutover.driver.internal.jdbc;

import java.lang.reflect.Method;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * A prepared statement that remembers its parameters, so that one prepared before a switch and
 * executed after it runs on the new side with the same values. The parameter setters are
 * generated: each records its call in the {@link ParameterLog} and delegates.
 */
public abstract class LogicalPreparedStatement extends LogicalStatement implements PreparedStatement {
  /** The physical statement as a PreparedStatement; read by generated delegation. */
  protected PreparedStatement prepared;
  private final ParameterLog parameters = new ParameterLog();

  protected LogicalPreparedStatement(LogicalConnection connection, StatementRecipe recipe, PreparedStatement ps) {
    super(connection, recipe, ps);
  }

  @Override
  void use(Statement s) {
    super.use(s);
    prepared = (PreparedStatement) s;
  }

  @Override
  void replay(Statement fresh) throws SQLException {
    parameters.replay((PreparedStatement) fresh);
  }

  /** Called by the generated setters before they delegate. */
  final void recordParameter(Method setter, Object[] args) {
    parameters.set(setter, args);
  }

  /** Called by the generated out-parameter registrations before they delegate. */
  final void recordOutParameter(Method register, Object[] args) {
    parameters.registerOut(register, args);
  }

  @Override
  void batchDone() {
    super.batchDone();
    parameters.clearBatch();
  }

  @Override
  public void clearParameters() throws SQLException {
    prepared.clearParameters();
    parameters.clear();
  }

  @Override
  public void addBatch() throws SQLException {
    prepared.addBatch();
    parameters.addBatch();
  }

  @Override
  public ResultSet executeQuery() throws SQLException {
    begin();
    try {
      return results(prepared.executeQuery());
    } finally {
      end();
    }
  }

  @Override
  public int executeUpdate() throws SQLException {
    begin();
    try {
      return prepared.executeUpdate();
    } finally {
      end();
    }
  }

  @Override
  public long executeLargeUpdate() throws SQLException {
    begin();
    try {
      return prepared.executeLargeUpdate();
    } finally {
      end();
    }
  }

  @Override
  public boolean execute() throws SQLException {
    begin();
    try {
      return prepared.execute();
    } finally {
      end();
    }
  }
}
