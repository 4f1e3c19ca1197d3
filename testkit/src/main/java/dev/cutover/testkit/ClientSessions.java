package dev.cutover.testkit;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

/**
 * The client sessions open on one server, read in one query from {@code pg_stat_activity}: what
 * {@link NoLeakedConnections} compares before and after a test. The server's own processes
 * (autovacuum, checkpointer, WAL senders, logical replication workers) are left out, and so are the
 * session that asks and the {@link ReplicationNudger}'s.
 */
final class ClientSessions {

  /** The application_name of the sessions that ask, so that one still ending is not taken for a leak. */
  static final String APPLICATION_NAME = "cutover-testkit-leak-check";

  /** From 10, {@code backend_type} names client sessions; 9.6 shows WAL senders and autovacuum workers among them. */
  private static final String SINCE_10 = "SELECT pid, application_name, usename, datname, state, query FROM pg_stat_activity"
      + " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND application_name NOT IN (?, ?)";
  private static final String BEFORE_10 = "SELECT pid, application_name, usename, datname, state, query FROM pg_stat_activity"
      + " WHERE pid <> pg_backend_pid() AND application_name NOT IN (?, ?) AND pid NOT IN (SELECT pid FROM pg_stat_replication)"
      + " AND coalesce(query, '') NOT LIKE 'autovacuum:%'";

  /** One session as {@code pg_stat_activity} shows it. */
  record Session(int pid, String applicationName, String user, String database, String state, String query) {
    @Override
    public String toString() {
      return "pid " + pid + " application_name '" + applicationName + "' user " + user + " database " + database
          + " state " + state + " query '" + query + "'";
    }
  }

  private ClientSessions() {}

  /**
   * The client sessions open on {@code server} by pid; none when the server cannot be reached
   * (a test stopped it, so nothing is left open on it).
   */
  static Map<Integer, Session> on(PostgresServer server) {
    Properties properties = new Properties();
    properties.setProperty("ApplicationName", APPLICATION_NAME);
    Connection connection;
    try {
      connection = server.connect(PostgresServer.DEFAULT_DATABASE, properties);
    } catch (SQLException unreachable) {
      return Map.of();
    }
    try (connection; PreparedStatement query = connection.prepareStatement(server.majorVersion() >= 10 ? SINCE_10 : BEFORE_10)) {
      query.setString(1, APPLICATION_NAME);
      query.setString(2, ReplicationNudger.APPLICATION_NAME);
      Map<Integer, Session> sessions = new LinkedHashMap<>();
      try (ResultSet rs = query.executeQuery()) {
        while (rs.next()) {
          sessions.put(rs.getInt(1), new Session(rs.getInt(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getString(5), rs.getString(6)));
        }
      }
      return sessions;
    } catch (SQLException e) {
      throw new IllegalStateException("Could not read pg_stat_activity on " + server + " to check for leaked connections", e);
    }
  }
}
