package dev.cutover.replicator;

import dev.cutover.replicator.capture.CaptureSchema;
import java.sql.Connection;
import java.sql.SQLException;
import org.postgresql.util.PSQLException;

/**
 * A server that ran short of disk, memory, connections or a configured limit (SQLState class 53)
 * mid-command. PgJDBC's error names no server: where the command knows which side it was writing
 * to or reading from, it says so ({@link #on}), and the failure names that side and what to change
 * there, instead of "could not extend file" alone with exit 1. The command's own undo has run by
 * then (start's, for one).
 *
 * <p>Out of disk, what else takes room differs by engine: a slot's retained WAL with logical
 * replication or relay, the change log in schema {@code cutover} with trigger capture, which has
 * no slot. Start marks its trigger capture ({@link #underTriggers}), since its undo removes the
 * change log before the error is explained; for other commands the change log on either side tells.
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

  /** {@code e}, or, where it is a shortage, the same error noting that trigger capture was the engine in use. */
  public static Exception underTriggers(Exception e) {
    if (!(e instanceof SQLException s) || !is(s)) {
      return e;
    }
    return e instanceof OnSide o ? new OnSide(o.side, true, (SQLException) o.getCause()) : new OnSide(null, true, s);
  }

  /**
   * {@link Failure#PRECONDITION}, naming the side where known, the server's message and what to
   * change; {@code old} and {@code nw} are asked, for a full disk, whether trigger capture is in place.
   */
  public static ReplicatorException explain(SQLException e, Endpoint old, Endpoint nw) {
    Side side = e instanceof OnSide o ? o.side : null;
    SQLException server = e instanceof OnSide ? (SQLException) e.getCause() : e;
    String where = side == null ? "the server that reported it" : side.label();
    String said = server instanceof PSQLException p && p.getServerErrorMessage() != null
        ? p.getServerErrorMessage().getMessage() : FirstLine.of(server);
    String what = (side == null ? "" : side.label() + ": ") + said + " (SQLState " + server.getSQLState() + ")";
    String remedy = switch (server.getSQLState()) {
      case "53100" -> where + " is out of disk space: make room there (start needs about the size of old's tables and indexes on"
          + " new; " + (e instanceof OnSide o && o.triggers || triggerCapture(old, nw)
              ? "trigger capture's change log in schema cutover takes room on the side it captures, until apply has applied it)"
              : "the WAL a slot keeps for replication takes room on its server too)");
      case "53200" -> where + " is out of memory: lower --jobs or --maintenance-work-mem, or give it more";
      case "53300" -> where + " takes no more connections: raise its max_connections or lower --jobs";
      case "53400" -> where + " reached a configured limit (such as temp_file_limit): raise it for this role"
          + " (ALTER ROLE ... SET) or lower --maintenance-work-mem";
      default -> where + " ran short of a resource";
    };
    return new ReplicatorException(Failure.PRECONDITION, what, remedy
        + ", then run the command again (`cutover-replicator status` shows what is in place)", e);
  }

  /** Whether either side holds trigger capture's change log; false where neither answers. */
  private static boolean triggerCapture(Endpoint... sides) {
    for (Endpoint side : sides) {
      try (Connection c = side.connect()) {
        if (CaptureSchema.installed(c)) {
          return true;
        }
      } catch (ReplicatorException | SQLException notNow) {
        // A side that cannot answer now: the remedy names the slot's WAL, as it did.
      }
    }
    return false;
  }

  /** A shortage the command traced to one side (null: not known), and whether under trigger capture. */
  private static final class OnSide extends SQLException {
    private final transient Side side;
    private final boolean triggers;

    OnSide(Side side, SQLException server) {
      this(side, false, server);
    }

    OnSide(Side side, boolean triggers, SQLException server) {
      super(side == null ? server.getMessage() : side.label() + ": " + server.getMessage(), server.getSQLState(), server);
      this.side = side;
      this.triggers = triggers;
    }
  }
}
