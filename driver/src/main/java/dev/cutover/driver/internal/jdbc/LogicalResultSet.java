package dev.cutover.driver.internal.jdbc;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * A result set whose {@link #getStatement()} is ours and whose {@link #next()} fails with 40001
 * as soon as a switch rolled its transaction back, even while PgJDBC still has fetched rows in
 * memory; all else is generated delegation. It holds only its {@link ResultSetState}, which it
 * gives back to its statement when the application closes it, so that a statement's next results
 * allocate only this object.
 */
public abstract class LogicalResultSet implements ResultSet, Translating {
  /** Null once closed through this object. */
  private ResultSetState state;

  protected LogicalResultSet(ResultSetState state) {
    this.state = state;
  }

  private ResultSetState live() throws SQLException {
    ResultSetState s = state;
    if (s == null) {
      throw SqlStates.closed("result set");
    }
    return s;
  }

  /** The physical result set; read by generated delegation. */
  protected final ResultSet results() throws SQLException {
    return live().results;
  }

  @Override
  public boolean next() throws SQLException {
    ResultSetState s = live();
    s.connection.checkDoomed();
    return s.results.next();
  }

  /** The statement that produced it, or {@code null} for metadata results, as JDBC allows. */
  @Override
  public Statement getStatement() throws SQLException {
    ResultSetState s = live();
    s.results.getStatement(); // PgJDBC's closed check, so a closed result set fails as it would there
    return s.owner;
  }

  /** Closes the physical result set; once that succeeded, its state goes back to the statement. */
  @Override
  public void close() throws SQLException {
    ResultSetState s = state;
    if (s == null) {
      return;
    }
    s.results.close(); // a failure is translated while the state is still here, and the state is not reused
    state = null;
    LogicalStatement owner = s.owner;
    s.start(null, null);
    if (owner != null) {
      owner.giveBack(s);
    }
  }

  @Override
  public boolean isClosed() throws SQLException {
    ResultSetState s = state;
    return s == null || s.results.isClosed();
  }

  @Override
  public final SQLException translate(SQLException e) {
    ResultSetState s = state;
    return s == null ? e : s.connection.translate(e);
  }

  @Override
  public <T> T unwrap(Class<T> iface) throws SQLException {
    return iface.isInstance(this) ? iface.cast(this) : results().unwrap(iface);
  }

  @Override
  public boolean isWrapperFor(Class<?> iface) throws SQLException {
    return iface.isInstance(this) || results().isWrapperFor(iface);
  }
}
