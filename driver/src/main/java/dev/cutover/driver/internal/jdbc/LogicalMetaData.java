package dev.cutover.driver.internal.jdbc;

import dev.cutover.common.Secrets;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.ResultSet;
import java.sql.SQLException;

/**
 * Database metadata whose {@link #getConnection()} is ours and whose result sets are wrapped;
 * all else is generated delegation.
 */
public abstract class LogicalMetaData implements DatabaseMetaData, Translating {
  private final LogicalConnection connection;
  /** The physical metadata; read by generated delegation. */
  protected final DatabaseMetaData metadata;

  protected LogicalMetaData(LogicalConnection connection, DatabaseMetaData metadata) {
    this.connection = connection;
    this.metadata = metadata;
  }

  @Override
  public Connection getConnection() throws SQLException {
    return connection;
  }

  /** The physical URL with passwords masked: applications log this value. */
  @Override
  public String getURL() throws SQLException {
    return Secrets.maskUrl(metadata.getURL());
  }

  /** Wraps a metadata result; called by the generated methods that return a ResultSet. */
  protected final ResultSet wrap(ResultSet rs) {
    return rs == null ? null : Wrappers.resultSet(new ResultSetState(connection).start(null, rs));
  }

  @Override
  public final SQLException translate(SQLException e) {
    return connection.translate(e);
  }

  @Override
  public <T> T unwrap(Class<T> iface) throws SQLException {
    return iface.isInstance(this) ? iface.cast(this) : metadata.unwrap(iface);
  }

  @Override
  public boolean isWrapperFor(Class<?> iface) throws SQLException {
    return iface.isInstance(this) || metadata.isWrapperFor(iface);
  }
}
