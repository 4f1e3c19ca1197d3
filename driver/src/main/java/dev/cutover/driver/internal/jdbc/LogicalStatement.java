package dev.cutover.driver.internal.jdbc;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * A statement that can follow its logical connection to the other database: it remembers how it
 * was created, its settings and its pending batch, and recreates itself on the physical
 * connection that serves when it next executes. Execution is where transactions begin, so every
 * {@code execute*} passes through the connection's boundary checks ({@link #begin}, {@link #end}),
 * woven around the generated delegation to {@link #statement} in one place ({@link
 * Wrappers.Execute}). Errors of every method go through the connection's {@link
 * LogicalConnection#translate} (woven in by {@link Wrappers}).
 */
public abstract class LogicalStatement implements Statement, Translating {
  final LogicalConnection connection;
  private final StatementRecipe recipe;
  /** The SQL it was created with, given to {@link #recipe} again; null for a plain statement. */
  private final String sql;
  /** The physical statement; read by generated delegation. */
  protected Statement statement;
  /** The physical connection {@link #statement} belongs to. */
  Connection bound;
  private StatementSettings settings;
  private List<String> batch;
  private boolean closed;

  protected LogicalStatement(LogicalConnection connection, StatementRecipe recipe, String sql, Statement statement) {
    this.connection = connection;
    this.recipe = recipe;
    this.sql = sql;
    this.bound = connection.physical();
    use(statement);
  }

  /** Points the generated delegation at a physical statement. */
  void use(Statement s) {
    statement = s;
  }

  /** Recreates this statement on {@code physical}, with its settings and pending work. */
  final void rebind(Connection physical) throws SQLException {
    Statement fresh = recipe.create(physical, sql);
    try {
      if (settings != null) {
        settings.applyTo(fresh);
      }
      replay(fresh);
    } catch (SQLException e) {
      LogicalConnection.closeQuietly(fresh);
      throw e;
    }
    Statement previous = statement;
    use(fresh);
    bound = physical;
    LogicalConnection.closeQuietly(previous);
  }

  void replay(Statement fresh) throws SQLException {
    if (batch != null) {
      for (String sql : batch) {
        fresh.addBatch(sql);
      }
    }
  }

  final StatementSettings settings() {
    if (settings == null) {
      settings = new StatementSettings();
    }
    return settings;
  }

  /**
   * Before an execution of the SQL the statement was prepared with (none for a plain statement's
   * batch): refuses a closed statement, admits the transaction, rebinds after a move.
   */
  final void begin() throws SQLException {
    begin(sql);
  }

  /** Before an execution of {@code sql}, given as the method's first argument. */
  final void begin(String sql) throws SQLException {
    if (closed) {
      throw SqlStates.closed("statement");
    }
    connection.beforeStatement(this, sql);
  }

  /** After an execution, successful or not. */
  final void end() {
    connection.afterStatement();
  }

  @Override
  public final SQLException translate(SQLException e) {
    return connection.translate(e);
  }

  final ResultSet results(ResultSet rs) {
    return rs == null ? null : Wrappers.resultSet(connection, this, rs);
  }

  // ---- execution: the execute* methods are generated around begin() and end() (Wrappers.Execute) ----

  @Override
  public void addBatch(String sql) throws SQLException {
    statement.addBatch(sql);
    if (batch == null) {
      batch = new ArrayList<>();
    }
    batch.add(sql);
  }

  @Override
  public void clearBatch() throws SQLException {
    statement.clearBatch();
    batchDone();
  }

  /** A batch ends with its execution, successful or not, as in PgJDBC. */
  void batchDone() {
    if (batch != null) {
      batch.clear();
    }
  }

  // ---- results that must point back at our objects ----------------------------------------

  @Override
  public ResultSet getResultSet() throws SQLException {
    return results(statement.getResultSet());
  }

  @Override
  public ResultSet getGeneratedKeys() throws SQLException {
    return results(statement.getGeneratedKeys());
  }

  @Override
  public Connection getConnection() throws SQLException {
    if (closed) {
      throw SqlStates.closed("statement");
    }
    return connection;
  }

  // ---- settings carried to a recreated statement -------------------------------------------

  @Override
  public void setFetchSize(int rows) throws SQLException {
    statement.setFetchSize(rows);
    settings().fetchSize(rows);
  }

  @Override
  public void setFetchDirection(int direction) throws SQLException {
    statement.setFetchDirection(direction);
    settings().fetchDirection(direction);
  }

  @Override
  public void setMaxRows(int max) throws SQLException {
    statement.setMaxRows(max);
    settings().maxRows(max);
  }

  @Override
  public void setLargeMaxRows(long max) throws SQLException {
    statement.setLargeMaxRows(max);
    settings().maxRows(max);
  }

  @Override
  public void setMaxFieldSize(int max) throws SQLException {
    statement.setMaxFieldSize(max);
    settings().maxFieldSize(max);
  }

  @Override
  public void setQueryTimeout(int seconds) throws SQLException {
    statement.setQueryTimeout(seconds);
    settings().queryTimeout(seconds);
  }

  @Override
  public void setEscapeProcessing(boolean enable) throws SQLException {
    statement.setEscapeProcessing(enable);
    settings().escapeProcessing(enable);
  }

  @Override
  public void setPoolable(boolean poolable) throws SQLException {
    statement.setPoolable(poolable);
    settings().poolable(poolable);
  }

  @Override
  public void setCursorName(String name) throws SQLException {
    statement.setCursorName(name);
    settings().cursorName(name);
  }

  @Override
  public void closeOnCompletion() throws SQLException {
    statement.closeOnCompletion();
    settings().closeOnCompletion();
  }

  // ---- lifecycle --------------------------------------------------------------------------

  @Override
  public void close() throws SQLException {
    if (!closed) {
      closed = true;
      statement.close();
    }
  }

  @Override
  public boolean isClosed() throws SQLException {
    return closed;
  }

  @Override
  public <T> T unwrap(Class<T> iface) throws SQLException {
    return iface.isInstance(this) ? iface.cast(this) : statement.unwrap(iface);
  }

  @Override
  public boolean isWrapperFor(Class<?> iface) throws SQLException {
    return iface.isInstance(this) || statement.isWrapperFor(iface);
  }
}
