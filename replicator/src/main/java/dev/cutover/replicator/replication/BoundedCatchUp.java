package dev.cutover.replicator.replication;

import dev.cutover.driver.control.CatchUp;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;

/**
 * The driver's {@link CatchUp#await} with a timeout that holds for its statements too: the marker's
 * write can wait for a lock, and a silent network answers nothing, and either would otherwise keep
 * a {@code catch-up --timeout 30s} or a reverse's drain waiting long past its time.
 */
public final class BoundedCatchUp {
  private BoundedCatchUp() {}

  /**
   * Lets no statement on {@code connections} wait longer than {@code timeout} for its answer: an
   * unanswered one fails and PgJDBC gives its connection up.
   */
  public static void limit(Duration timeout, Connection... connections) throws SQLException {
    int millis = (int) Math.max(1, Math.min(Integer.MAX_VALUE, timeout.toMillis()));
    for (Connection c : connections) {
      c.setNetworkTimeout(Runnable::run, millis);
    }
  }

  /**
   * Writes a marker on {@code source} and waits up to {@code timeout} for it on {@code target}, no
   * statement waiting longer; the connections' own limits are put back after, where they are still
   * open.
   *
   * @return false when the marker did not arrive in time or a statement went unanswered (its
   *     connection is then closed)
   */
  public static boolean await(Connection source, Connection target, Duration timeout) throws SQLException {
    int sourceLimit = source.getNetworkTimeout();
    int targetLimit = target.getNetworkTimeout();
    limit(timeout, source, target);
    try {
      return CatchUp.await(source, target, timeout);
    } catch (SQLException e) {
      if (Sql.unanswered(e)) {
        return false;
      }
      throw e;
    } finally {
      if (!source.isClosed()) {
        source.setNetworkTimeout(Runnable::run, sourceLimit);
      }
      if (!target.isClosed()) {
        target.setNetworkTimeout(Runnable::run, targetLimit);
      }
    }
  }
}
