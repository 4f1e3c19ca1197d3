package dev.cutover.driver.internal.session;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import org.postgresql.core.BaseConnection;

/**
 * A session's server process as it was at login: its process id, when it started, and the server
 * it runs on (when that server started, and its address). Read once per physical connection, so
 * that a switch terminates a straggler's process only where it is that straggler's: after a
 * failover, or a load balancer or DNS change, the switch's own connection to the same URL may reach
 * another server, where the same process id is anyone's session.
 *
 * @param pid the process id
 * @param started when the process started, in UTC to the microsecond ({@link #START})
 * @param server the server's {@code address:port} as the connection sees it, or null over a Unix socket
 * @param serverStarted when the server started ({@code pg_postmaster_start_time()}), as {@code started}; a
 *     promoted standby, a restarted server or another server altogether has another
 */
public record Backend(int pid, String started, String server, String serverStarted) {
  /** {@code pg_stat_activity a}'s start of the backend, in UTC to the microsecond (text compares exactly). */
  public static final String START = "pg_catalog.to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')";

  private static final String READ = "SELECT a.pid::text, " + START + ", pg_catalog.host(pg_catalog.inet_server_addr())"
      + " OPERATOR(pg_catalog.||) ':' OPERATOR(pg_catalog.||) pg_catalog.inet_server_port()::text,"
      + " pg_catalog.to_char(pg_catalog.pg_postmaster_start_time() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"
      + " FROM pg_catalog.pg_stat_activity a WHERE a.pid OPERATOR(pg_catalog.=) pg_catalog.pg_backend_pid()";

  /** A process known by its id alone (its session's identity could not be read): proven nowhere. */
  public static Backend unknown(int pid) {
    return new Backend(pid, null, null, null);
  }

  /** Reads the process that answers on {@code c}, in one exchange outside any transaction. */
  public static Backend of(BaseConnection c) throws SQLException {
    List<String[]> rows = ServerExchange.run(c, READ).rowsOrThrow();
    if (rows.isEmpty()) {
      return unknown(c.getBackendPID());
    }
    String[] r = rows.get(0);
    return new Backend(Integer.parseInt(r[0]), r[1], r[2], r[3]);
  }

  /**
   * The processes among {@code backends} that {@code c}'s role sees in {@code pg_stat_activity}
   * without their start: those of another role, unless it may read every session's statistics
   * ({@code pg_read_all_stats}, a member of that role, a superuser). A match on process id and
   * start finds nothing there, whether the process is gone or not; only a process id absent from
   * {@code pg_stat_activity}, which lists every role's, proves it gone. One statement.
   */
  public static Hidden hidden(Connection c, Collection<Backend> backends) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT current_user::text,"
        + " pg_catalog.to_regrole('pg_read_all_stats') IS NOT NULL, ARRAY(SELECT a.pid FROM"
        + " pg_catalog.pg_stat_activity a WHERE a.pid OPERATOR(pg_catalog.=) ANY (?::int4[])"
        + " AND a.backend_start IS NULL ORDER BY a.pid)")) {
      ps.setArray(1, c.createArrayOf("int4", backends.stream().map(Backend::pid).toArray()));
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        Array pids = rs.getArray(3);
        return new Hidden(rs.getString(1), rs.getBoolean(2), Arrays.asList((Integer[]) pids.getArray()));
      }
    }
  }

  /**
   * What {@link #hidden} found.
   *
   * @param role the role the reading connection is
   * @param grantable whether the server has {@code pg_read_all_stats} (PostgreSQL 10 and later)
   * @param pids the processes it sees without their start, none when it sees every one's
   */
  public record Hidden(String role, boolean grantable, List<Integer> pids) {}

  /** Whether this process ran on the server {@code other} runs on (the same server, not restarted since). */
  public boolean sameServer(Backend other) {
    return serverStarted != null && serverStarted.equals(other.serverStarted);
  }

  /** The process and its server, as messages say it. */
  @Override
  public String toString() {
    return "backend " + pid + " on " + (server == null ? "a Unix socket" : server) + " (server up since "
        + (serverStarted == null ? "unknown" : serverStarted + " UTC") + ")";
  }
}
