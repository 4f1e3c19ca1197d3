package dev.cutover.replicator;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

/**
 * A connection lost in the middle of a command (SQLState class 08: reset by a restart, a failover,
 * a proxy or the network, or given up after its peer stopped answering). PgJDBC's error names no
 * server, and the command cannot always tell which of its connections failed; so both sides are
 * asked now, each within its connect timeout, and the failure says which one does not answer, or
 * that both do. The command's own undo has run by then (start's, for one).
 */
public final class LostConnection {
  /** How long a new connection has to answer a query. */
  private static final int ANSWER_WITHIN_SECONDS = 5;

  private LostConnection() {}

  /** Whether {@code e} says a connection was lost, rather than refused a statement. */
  public static boolean is(SQLException e) {
    return e.getSQLState() != null && e.getSQLState().startsWith("08");
  }

  /** {@link Failure#CONNECTION}, saying what failed and which of {@code sides} answers now. */
  public static ReplicatorException explain(SQLException e, Endpoint... sides) {
    String what = "a connection was lost mid-command (" + FirstLine.of(e.getMessage()) + rootCause(e) + ")";
    List<String> silent = new ArrayList<>();
    List<String> labels = new ArrayList<>();
    for (Endpoint side : sides) {
      String problem = problem(side);
      if (problem != null) {
        silent.add(problem);
        labels.add(side.side().label());
      }
    }
    String again = "run the command again (`cutover-replicator status` shows what is in place)";
    if (silent.isEmpty()) {
      return new ReplicatorException(Failure.CONNECTION, what + "; " + names(sides) + " answer now, so a restart, a failover, a"
          + " proxy or the network reset it", again, e);
    }
    return new ReplicatorException(Failure.CONNECTION, String.join(" and ", labels) + ": " + what + "; now " + String.join("; ", silent),
        "once " + String.join(" and ", labels) + (labels.size() == 1 ? " answers" : " answer") + " again, " + again, e);
  }

  /** Why {@code side} does not answer now, or null when it does. */
  private static String problem(Endpoint side) {
    try (Connection c = side.connect()) {
      return c.isValid(ANSWER_WITHIN_SECONDS) ? null
          : side.side().label() + " accepts a connection but answers no query within " + ANSWER_WITHIN_SECONDS + " s";
    } catch (ReplicatorException | SQLException notNow) {
      return notNow.getMessage();
    }
  }

  private static String names(Endpoint... sides) {
    return Arrays.stream(sides).map(s -> s.side().label()).collect(Collectors.joining(" and "));
  }


  /** The innermost cause's message (the socket's: "Connection reset", "Read timed out"), after a colon. */
  private static String rootCause(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return root == e || root.getMessage() == null ? "" : ": " + root.getMessage();
  }
}
