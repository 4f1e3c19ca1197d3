package dev.cutover.replicator;

import java.sql.SQLException;
import org.postgresql.util.PSQLException;

/**
 * A server that ran short of disk, memory, connections or a configured limit (SQLState class 53)
 * mid-command. PgJDBC's error names no server: where the command knows which side it was writing
 * to or reading from, it says so ({@link #on}), and the failure names that side and what to change
 * there, instead of "could not extend file" alone with exit 1. The command's own undo has run by
 * then (start's, for one).
 */
public final class ServerShortage {
  private static final String CLASS = "53";

  private ServerShortage() {}

  /** Whether {@code e} says a server ran short of a resource. */
  public static boolean is(SQLException e) {
    return e.getSQLState() != null && e.getSQLState().startsWith(CLASS);
  }

  /** {@code e}, or, where it is a shortage not yet traced to a side, the same error naming {@code side}. */
  public static Exception on(Side side, Exception e) {
    return e instanceof SQLException s && is(s) && !(e instanceof OnSide) ? new OnSide(side, s) : e;
  }

  /** {@link Failure#PRECONDITION}, naming the side where known, the server's message and what to change. */
  public static ReplicatorException explain(SQLException e) {
    Side side = e instanceof OnSide o ? o.side : null;
    SQLException server = e instanceof OnSide ? (SQLException) e.getCause() : e;
    String where = side == null ? "the server that reported it" : side.label();
    String said = server instanceof PSQLException p && p.getServerErrorMessage() != null
        ? p.getServerErrorMessage().getMessage() : FirstLine.of(server);
    String what = (side == null ? "" : side.label() + ": ") + said + " (SQLState " + server.getSQLState() + ")";
    String remedy = switch (server.getSQLState()) {
      case "53100" -> where + " is out of disk space: make room there (start needs about the size of old's tables and indexes on"
          + " new; the WAL a slot keeps for replication takes room on its server too)";
      case "53200" -> where + " is out of memory: lower --jobs or --maintenance-work-mem, or give it more";
      case "53300" -> where + " takes no more connections: raise its max_connections or lower --jobs";
      case "53400" -> where + " reached a configured limit (such as temp_file_limit): raise it for this role"
          + " (ALTER ROLE ... SET) or lower --maintenance-work-mem";
      default -> where + " ran short of a resource";
    };
    return new ReplicatorException(Failure.PRECONDITION, what, remedy
        + ", then run the command again (`cutover-replicator status` shows what is in place)", e);
  }

  /** A shortage the command traced to one side. */
  private static final class OnSide extends SQLException {
    private final transient Side side;

    OnSide(Side side, SQLException server) {
      super(side.label() + ": " + server.getMessage(), server.getSQLState(), server);
      this.side = side;
    }
  }
}
