package dev.cutover.testkit;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.postgresql.core.Utils;

/** Quoting and small queries shared by the servers and the replication helper. */
final class Sql {

  /** Used directly, never through DriverManager: see {@link PostgresServer#connect(String)}. */
  static final org.postgresql.Driver DRIVER = new org.postgresql.Driver();

  private Sql() {}

  /** A double-quoted SQL identifier, so names keep their case and may be reserved words; PgJDBC's escaping. */
  static String identifier(String name) {
    requireNoNul(name);
    try {
      return Utils.escapeIdentifier(null, name).toString();
    } catch (SQLException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }

  /**
   * A single-quoted SQL string literal, PgJDBC's escaping (standard_conforming_strings is on since
   * PostgreSQL 9.1 and the test servers never turn it off).
   */
  static String literal(String value) {
    requireNoNul(value);
    try {
      return Utils.escapeLiteral(new StringBuilder("'"), value, true).append('\'').toString();
    } catch (SQLException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }

  /** A libpq connection string; each value is quoted as libpq wants (backslash escapes). */
  static String libpq(String host, int port, String database, String user, String password) {
    String conninfo = "host=" + libpqValue(host) + " port=" + port
        + " dbname=" + libpqValue(database) + " user=" + libpqValue(user);
    return password.isEmpty() ? conninfo : conninfo + " password=" + libpqValue(password);
  }

  /** The server's major version, from {@code server_version_num} (for example 170002 is 17). */
  static int majorVersion(Connection connection) throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet rs = statement.executeQuery("SHOW server_version_num")) {
      rs.next();
      return Integer.parseInt(rs.getString(1)) / 10_000;
    }
  }

  private static String libpqValue(String value) {
    requireNoNul(value);
    return '\'' + value.replace("\\", "\\\\").replace("'", "\\'") + '\'';
  }

  private static void requireNoNul(String value) {
    if (value.indexOf('\0') >= 0) {
      throw new IllegalArgumentException("PostgreSQL names and values cannot contain a NUL character: " + value.replace('\0', '?'));
    }
  }
}
