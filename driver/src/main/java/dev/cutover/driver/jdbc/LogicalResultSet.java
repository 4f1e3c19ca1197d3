package dev.cutover.driver.jdbc;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/** A result set whose {@link #getStatement()} is ours; all else is generated delegation. */
public abstract class LogicalResultSet implements ResultSet {
  private final Statement owner;
  /** The physical result set; read by generated delegation. */
  protected final ResultSet results;

  protected LogicalResultSet(Statement owner, ResultSet results) {
    this.owner = owner;
    this.results = results;
  }

  /** The statement that produced it, or {@code null} for metadata results, as JDBC allows. */
  @Override
  public Statement getStatement() throws SQLException {
    results.getStatement(); // PgJDBC's closed check, so a closed result set fails as it would there
    return owner;
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
