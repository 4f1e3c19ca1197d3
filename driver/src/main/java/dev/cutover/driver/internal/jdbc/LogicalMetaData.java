package dev.cutover.driver.internal.jdbc;

import dev.cutover.common.Secrets;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Set;

/**
 * Database metadata whose {@link #getConnection()} is ours and whose result sets are wrapped;
 * all else is generated delegation to {@link #metadata()} (or {@link #answered()}), the physical
 * metadata of the connection's physical connection at the moment of the call: one kept across a
 * move works on the side the session moved to (bound once, it failed with PgJDBC's 08003 on the connection the move
 * closed, which pools take for a broken connection).
 *
 * <p>The generated methods PgJDBC answers with a query (every one that returns a result set, and
 * {@link #QUERYING}) are statements for the connection ({@link #begin}, {@link #end}): with
 * autocommit off PgJDBC sends its own {@code BEGIN} first. Without the boundary that transaction
 * opened on whatever physical connection the session still had: after a switch, old's, where the
 * session's next statements then joined it (stale reads, 25006, large objects lost to new); during
 * one, a transaction the drain had to wait for. The others (constants, what PgJDBC knows from the
 * connection's start: {@code getDatabaseProductName}, {@code supports...}) are housekeeping and
 * never wait at the gate ({@link #answered()}).
 */
public abstract class LogicalMetaData implements DatabaseMetaData, Translating {
  /**
   * The methods not returning a result set that PgJDBC answers with a query, on some version of
   * the supported range (42.2.9 to 42.7.14; read from its bytecode: they create a statement, or
   * call a method that does). {@code JdbcSurfaceTest#metadataAnsweredWithoutAQuery…} checks,
   * on the PgJDBC under test, that every other method opens no transaction.
   */
  public static final Set<String> QUERYING = Set.of("getSQLKeywords", "getDefaultTransactionIsolation",
      "getMaxCatalogNameLength", "getMaxColumnNameLength", "getMaxColumnsInIndex", "getMaxCursorNameLength",
      "getMaxProcedureNameLength", "getMaxSchemaNameLength", "getMaxTableNameLength", "getMaxUserNameLength");

  private final LogicalConnection connection;

  protected LogicalMetaData(LogicalConnection connection) {
    this.connection = connection;
  }

  /**
   * The physical metadata, read by generated delegation after {@link #begin}: PgJDBC keeps one per
   * connection, so this allocates nothing after a connection's first call.
   */
  protected final DatabaseMetaData metadata() throws SQLException {
    return connection.physical().getMetaData();
  }

  /**
   * The physical metadata for a method PgJDBC answers without a query: a closed, lost or recovering
   * connection is dealt with first, as for any call that is not a statement.
   */
  protected final DatabaseMetaData answered() throws SQLException {
    connection.checkOpen();
    return metadata();
  }

  /** Before a generated method: what a statement does (wait at a closed gate, move, count as in flight). */
  final void begin() throws SQLException {
    connection.beforeStatement(null, null, null);
  }

  /** After a generated method, successful or not: the connection reads where the transaction stands. */
  final void end() {
    connection.afterStatement();
  }

  @Override
  public Connection getConnection() throws SQLException {
    return connection;
  }

  /** The physical URL with passwords masked: applications log this value. */
  @Override
  public String getURL() throws SQLException {
    return Secrets.maskUrl(answered().getURL());
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
    return iface.isInstance(this) ? iface.cast(this) : metadata().unwrap(iface);
  }

  @Override
  public boolean isWrapperFor(Class<?> iface) throws SQLException {
    return iface.isInstance(this) || metadata().isWrapperFor(iface);
  }
}
