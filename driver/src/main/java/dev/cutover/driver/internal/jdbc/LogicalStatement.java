package dev.cutover.driver.internal.jdbc;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * A statement that can follow its logical connection to the other database: it remembers how it
 * was created, its settings and its pending batch, and recreates itself on the physical
 * connection that serves when it next executes. Execution is where transactions begin, so every
 * {@code execute*} passes through the connection's boundary checks ({@link #begin}, {@link #end}),
 * woven around the generated delegation to {@link #statement} in one place ({@link
 * Wrappers.Execute}). Errors of every method go through the connection's {@link
 * LogicalConnection#translate} (woven in by {@link Wrappers}).
 *
 * <p>The object holds only its {@link StatementState}, which it drops at close and, when it
 * closed cleanly, gives back to its connection for the next statement: in steady state preparing
 * a statement allocates this object alone. A closed statement has no state, so every call but
 * {@code close} and {@code isClosed} fails as closed and none sees a later statement's parameters.
 */
public abstract class LogicalStatement implements Statement, Translating {
  /**
   * Kept apart from the state: another thread may close the statement while it executes, and the
   * execution must still end on its connection (or the connection would read as busy to a drain).
   */
  private final LogicalConnection connection;
  /** Null once closed. */
  private StatementState state;

  protected LogicalStatement(StatementState state) {
    this.connection = state.connection;
    this.state = state;
  }

  /** The state of an open statement. */
  final StatementState live() throws SQLException {
    StatementState s = state;
    if (s == null) {
      throw SqlStates.closed("statement");
    }
    return s;
  }

  /** The physical statement; read by generated delegation. */
  protected final Statement statement() throws SQLException {
    return live().statement;
  }

  /** Recreates this statement on {@code physical}, with its settings and pending work. */
  final void rebind(Connection physical) throws SQLException {
    StatementState s = live();
    Statement fresh = s.recipe.create(physical, s.sql);
    try {
      s.replay(fresh);
    } catch (SQLException e) {
      LogicalConnection.closeQuietly(fresh);
      throw e;
    }
    Statement previous = s.statement;
    s.use(fresh, physical);
    LogicalConnection.closeQuietly(previous);
  }

  /**
   * Before an execution of the SQL the statement was prepared with (none for a plain statement's
   * batch): refuses a closed statement, admits the transaction, rebinds after a move.
   */
  final void begin() throws SQLException {
    StatementState s = live();
    connection.beforeStatement(this, s, s.sql);
  }

  /** Before an execution of {@code sql}, given as the method's first argument. */
  final void begin(String sql) throws SQLException {
    StatementState s = live();
    connection.beforeStatement(this, s, sql);
  }

  /** After an execution, successful or not, also when another thread closed the statement meanwhile. */
  final void end() {
    connection.afterStatement();
  }

  @Override
  public final SQLException translate(SQLException e) {
    return connection.translate(e);
  }

  final ResultSet results(ResultSet rs) {
    if (rs == null) {
      return null;
    }
    StatementState s = state;
    return Wrappers.resultSet(s != null ? s.takeResults(this, rs) : new ResultSetState(connection).start(this, rs));
  }

  /** Takes back the state of results it produced, closed cleanly, for its next results. */
  final void giveBack(ResultSetState r) {
    StatementState s = state;
    if (s != null) {
      s.giveBack(r);
    }
  }

  // ---- execution: the execute* methods are generated around begin() and end() (Wrappers.Execute) ----

  @Override
  public void addBatch(String sql) throws SQLException {
    StatementState s = live();
    s.statement.addBatch(sql);
    s.addBatch(sql);
  }

  @Override
  public void clearBatch() throws SQLException {
    StatementState s = live();
    s.statement.clearBatch();
    s.batchDone();
  }

  /** A batch ends with its execution, successful or not, as in PgJDBC. */
  final void batchDone() {
    StatementState s = state;
    if (s != null) {
      s.batchDone();
    }
  }

  // ---- results that must point back at our objects ----------------------------------------

  @Override
  public ResultSet getResultSet() throws SQLException {
    return results(statement().getResultSet());
  }

  @Override
  public ResultSet getGeneratedKeys() throws SQLException {
    return results(statement().getGeneratedKeys());
  }

  @Override
  public Connection getConnection() throws SQLException {
    live();
    return connection;
  }

  // ---- settings carried to a recreated statement: the setters are generated (Wrappers.settings) ----

  /** What the generated setters of {@link StatementSettings#RECORDED} record into, after delegating. */
  final StatementSettings settings() throws SQLException {
    return live().settings();
  }

  // ---- lifecycle --------------------------------------------------------------------------

  /**
   * Drops the state, closes the physical statement and, if that succeeded and the statement is
   * still on its connection's physical connection (no switch or doom replaced it meanwhile), gives
   * the state back to the connection for its next statement.
   */
  @Override
  public void close() throws SQLException {
    StatementState s = state;
    if (s == null) {
      return;
    }
    state = null;
    s.statement.close();
    connection.giveBack(s);
  }

  @Override
  public boolean isClosed() throws SQLException {
    return state == null;
  }

  @Override
  public <T> T unwrap(Class<T> iface) throws SQLException {
    return iface.isInstance(this) ? iface.cast(this) : statement().unwrap(iface);
  }

  @Override
  public boolean isWrapperFor(Class<?> iface) throws SQLException {
    return iface.isInstance(this) || statement().isWrapperFor(iface);
  }
}
