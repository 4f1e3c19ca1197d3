package dev.cutover.driver.internal.jdbc;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * A result set whose {@link #getStatement()} is ours and whose {@link #next()} fails with 40001
 * as soon as a switch rolled its transaction back, even while PgJDBC still has fetched rows in
 * memory; all else is generated delegation.
 */
public abstract class LogicalResultSet implements ResultSet, Translating {
  private final LogicalConnection connection;
  private final Statement owner;
  /** The physical result set; read by generated delegation. */
  protected final ResultSet results;

  protected LogicalResultSet(LogicalConnection connection, Statement owner, ResultSet results) {
    this.connection = connection;
    this.owner = owner;
    this.results = results;
  }

  @Override
  public boolean next() throws SQLException {
    connection.checkDoomed();
    return results.next();
  }

  /** The statement that produced it, or {@code null} for metadata results, as JDBC allows. */
  @Override
  public Statement getStatement() throws SQLException {
    results.getStatement(); // PgJDBC's closed check, so a closed result set fails as it would there
    return owner;
  }

  @Override
  public final SQLException translate(SQLException e) {
    return connection.translate(e);
  }

  @Override
  public <T> T unwrap(Class<T> iface) throws SQLException {
    return iface.isInstance(this) ? iface.cast(this) : results.unwrap(iface);
  }

  @Override
  public boolean isWrapperFor(Class<?> iface) throws SQLException {
    return iface.isInstance(this) || results.isWrapperFor(iface);
  }
}
