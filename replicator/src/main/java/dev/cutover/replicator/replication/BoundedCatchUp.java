package dev.cutover.replicator.replication;

import dev.cutover.driver.control.CatchUp;
import dev.cutover.replicator.BoundedRead;
import dev.cutover.replicator.Failure;
import dev.cutover.replicator.ReplicatorException;
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
   * Writes a marker on {@code source} and waits up to {@code timeout} for it on {@code target}, no
   * statement waiting longer; the connections' own limits are put back after, where they are still
   * open.
   *
   * @return false when the marker did not arrive in time or a statement went unanswered (its
   *     connection is then closed)
   */
  public static boolean await(Connection source, Connection target, Duration timeout) throws SQLException {
    try {
      return Sql.answeringWithin(timeout, () -> CatchUp.await(source, target, timeout), source, target);
    } catch (SQLException e) {
      if (Sql.unanswered(e)) {
        return false;
      }
      throw e;
    }
  }

  /**
   * {@link #await}, running {@code stillWanted} about every second while it waits: an exception it
   * throws ends the wait (and is thrown, not taken for silence).
   */
  public static boolean await(Connection source, Connection target, Duration timeout, CatchUp.StillWanted stillWanted)
      throws SQLException {
    try {
      return Sql.answeringWithin(timeout, () -> CatchUp.await(source, target, timeout, stillWanted, CHECK_EVERY), source, target);
    } catch (SQLException e) {
      if (Sql.unanswered(e)) {
        return false;
      }
      throw e;
    }
  }

  private static final Duration CHECK_EVERY = Duration.ofSeconds(1);

  /**
   * The failure to report when {@link #await} returned false because {@code side} did not answer:
   * no fault of replication's, so the remedy is the network or a lock, not the subscription.
   *
   * @param doing what the command was doing ("catching up")
   * @param then how to go on once it answers ("run catch-up again")
   */
  public static ReplicatorException silent(String side, Duration timeout, String doing, String then) {
    return new ReplicatorException(Failure.TIMEOUT, side + ": no answer within " + timeout.toMillis() + " ms while " + doing + " ("
        + BoundedRead.SILENCE + ", such as the barrier marker's write on cutover.barrier)", "check the network to " + side
        + " and what its sessions hold (pg_locks joined to pg_stat_activity), then " + then);
  }
}
