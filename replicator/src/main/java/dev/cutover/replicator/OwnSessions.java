package dev.cutover.replicator;

import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.postgresql.PGConnection;

/**
 * A command's sessions on the servers, so that those its lost connections left running can be
 * ended. A connection given up as silent (or whose answer never came) closes only the replicator's
 * end: the server's session goes on, in its transaction and with its locks, until the server
 * notices its client gone, about a minute when it waits to read, and up to the kernel's
 * retransmission limit (about 15 minutes) when it is stuck writing a COPY; a stalled middlebox that
 * still acknowledges can keep it for ever. Where those locks keep the application's writers waiting
 * (adopt's lock on a table of the serving side), that session is ended over a new connection, or, if
 * the side takes none soon, the failure names the statement that ends it. A session is named by its
 * process id and start time, so that only that very session is ended, never one that took its pid
 * since.
 */
final class OwnSessions {
  private record Session(Endpoint endpoint, Connection connection, int pid, String started) {}

  private final List<Session> sessions = new CopyOnWriteArrayList<>();
  private final List<Session> lost = new CopyOnWriteArrayList<>();

  /**
   * Notes {@code c}, a connection to {@code endpoint}'s side; {@code endpoint} is the unwatched one,
   * to be reached again after a watch gave the side up.
   */
  void add(Endpoint endpoint, Connection c) throws SQLException {
    int pid = c.unwrap(PGConnection.class).getBackendPID();
    sessions.add(new Session(endpoint, c, pid, Sql.string(c, "SELECT backend_start::text FROM pg_catalog.pg_stat_activity WHERE pid = ?",
        pid)));
  }

  /**
   * Runs {@code work}; when it fails, notes which connections were lost then (given up, or closed by
   * PgJDBC on a failed read), before they are closed on purpose and cannot be told apart.
   */
  <T> T noting(Sql.ThrowingWork<T, Exception> work) throws Exception {
    try {
      return work.run();
    } catch (Exception e) {
      sessions.stream().filter(s -> Sql.givenUp(s.connection)).forEach(lost::add);
      throw e;
    }
  }

  /**
   * After {@code failure} (a {@link Failure#CONNECTION}), ends each session whose connection {@link
   * #noting} saw lost and that is still running, each side's login and answer awaited {@code
   * within}; returns {@code failure} saying what became of them, {@code held} naming what such a
   * session holds. Sessions already gone are not mentioned.
   */
  ReplicatorException endAfter(ReplicatorException failure, Duration within, String held) {
    List<String> ended = new ArrayList<>();
    List<String> left = new ArrayList<>();
    List<String> statements = new ArrayList<>();
    for (Session s : lost) {
      String named = "on " + s.endpoint.side().label() + " (process " + s.pid + ")";
      String where = " FROM pg_catalog.pg_stat_activity WHERE pid = " + s.pid + " AND backend_start = " + Sql.literal(s.started)
          + "::timestamptz";
      try (Connection c = s.endpoint.connectWithin(within)) {
        Sql.answerWithin(within, c);
        if (Sql.bool(c, "SELECT coalesce(bool_or(pg_catalog.pg_terminate_backend(pid)), false)" + where)) {
          ended.add(named);
        }
      } catch (SQLException | ReplicatorException e) {
        failure.addSuppressed(e);
        left.add(named);
        statements.add("on " + s.endpoint.side().label() + ": SELECT pg_terminate_backend(pid)" + where);
      }
    }
    if (ended.isEmpty() && left.isEmpty()) {
      return failure;
    }
    String message = failure.getMessage()
        + (ended.isEmpty() ? "" : "; its session" + plural(ended) + " left running " + String.join(" and ", ended)
            + (ended.size() == 1 ? " was ended, and with it " : " were ended, and with them ") + held)
        + (left.isEmpty() ? "" : "; its session" + plural(left) + " " + String.join(" and ", left) + " may still be running, with "
            + held + ", until the server notices the connection gone (a minute, or far longer mid-COPY), since no new connection"
            + " was answered within " + within.toMillis() + "ms");
    String remedy = left.isEmpty() ? failure.remedy()
        : "as soon as the side answers, end " + (left.size() == 1 ? "it" : "them") + " (" + String.join("; ", statements) + "); "
            + failure.remedy();
    ReplicatorException said = new ReplicatorException(failure.failure(), message, remedy, failure.getCause());
    for (Throwable t : failure.getSuppressed()) {
      said.addSuppressed(t);
    }
    return said;
  }

  private static String plural(List<String> names) {
    return names.size() == 1 ? "" : "s";
  }
}
