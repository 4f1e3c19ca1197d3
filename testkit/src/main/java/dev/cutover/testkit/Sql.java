package dev.cutover.testkit;

import dev.cutover.common.Quoting;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/** Connection strings and small queries shared by the servers and the replication helper. */
final class Sql {

  /** Used directly, never through DriverManager: see {@link PostgresServer#connect(String)}. */
  static final org.postgresql.Driver DRIVER = new org.postgresql.Driver();

  private Sql() {}

  /** A libpq connection string; each value is quoted as libpq wants (backslash escapes). */
  static String libpq(String host, int port, String database, String user, String password) {
    String conninfo = "host=" + Quoting.conninfoValue(host) + " port=" + port
        + " dbname=" + Quoting.conninfoValue(database) + " user=" + Quoting.conninfoValue(user);
    return password.isEmpty() ? conninfo : conninfo + " password=" + Quoting.conninfoValue(password);
  }

  /** The server's major version, from {@code server_version_num} (for example 170002 is 17). */
  static int majorVersion(Connection connection) throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet rs = statement.executeQuery("SHOW server_version_num")) {
      rs.next();
      return Integer.parseInt(rs.getString(1)) / 10_000;
    }
  }
}
