package dev.cutover.driver.internal.jdbc;

import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * A prepared statement that remembers its parameters, so that one prepared before a switch and
 * executed after it runs on the new side with the same values. The parameter setters are
 * generated: each delegates, then records its call in the {@link ParameterLog}.
 */
public abstract class LogicalPreparedStatement extends LogicalStatement implements PreparedStatement {
  /** The physical statement as a PreparedStatement; read by generated delegation. */
  protected PreparedStatement prepared;
  /** What the generated setters recorded (they call it directly, after delegating). */
  final ParameterLog parameters = new ParameterLog();

  protected LogicalPreparedStatement(LogicalConnection connection, StatementRecipe recipe, String sql,
      PreparedStatement ps) {
    super(connection, recipe, sql, ps);
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
}
