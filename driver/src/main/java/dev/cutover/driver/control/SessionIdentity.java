package dev.cutover.driver.control;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.postgresql.PGConnection;

/**
 * Who answers on a connection, in one query: the backend process PgJDBC was told of at login and
 * the one that runs its statements, the server's address, and whether it is a standby. A
 * connection pooler or proxy that answers the protocol itself (PgBouncer, RDS Proxy, pgcat)
 * reports a process id of its own, where a plain TCP relay passes the server's through; a standby
 * (a reader endpoint, a read replica) is in recovery and refuses every write. The switch and the
 * replicator need sessions of their own on a primary, and ask this before anything else.
 *
 * @param reported the backend process id PgJDBC was told of at login
 * @param answering the backend process id that runs the connection's statements
 * @param server the answering server's {@code address:port}, or null over a Unix socket
 * @param standby whether that server is in recovery
 */
public record SessionIdentity(int reported, int answering, String server, boolean standby) {
  public static SessionIdentity of(Connection c) throws SQLException {
    int reported = c.unwrap(PGConnection.class).getBackendPID();
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT pg_catalog.pg_backend_pid(),"
        + " pg_catalog.host(pg_catalog.inet_server_addr()) || ':' || pg_catalog.inet_server_port(), pg_catalog.pg_is_in_recovery()")) {
      rs.next();
      return new SessionIdentity(reported, rs.getInt(1), rs.getString(2), rs.getBoolean(3));
    }
  }

  /** Whether the connection reaches the server itself, no pooler between. */
  public boolean direct() {
    return reported == answering;
  }

  /** Why the connection is a pooler's, as messages say it. */
  @Override
  public String toString() {
    return "the backend process it reported at connect, " + reported + ", is not the one that answers, " + answering;
  }
}
