package dev.cutover.replicator.check;

import dev.cutover.replicator.Failure;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.check.Finding.Severity;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Optional;

/**
 * Room for one more subscription's apply worker on a server. Every enabled subscription of the
 * server, in whichever database, keeps an apply worker, and each takes one of the server's
 * {@code max_logical_replication_workers} slots and one of its {@code max_worker_processes}
 * background workers (as does the logical replication launcher); a subscription that finds none
 * is created and enabled all the same, and its worker never starts ("out of logical replication
 * worker slots" in the server log). Counted from {@code pg_subscription} (a catalog shared by the
 * server's databases, whose {@code subenabled} every role may read) rather than from the workers
 * running now: a table sync worker holds a slot only while it copies, and a failing subscription's
 * worker only between its retries, but an enabled subscription wants its worker back every time.
 * Background workers that extensions and parallel queries take are not counted: the remedy leaves
 * room for them.
 */
public final class WorkerRoom {
  private WorkerRoom() {}

  /** What is short, and the remedy. */
  private record Shortage(String problem, String remedy) {}

  /** What a server offers and what the other enabled subscriptions there take. */
  private record Room(long workers, long processes, long others) {
    /** A description of the shortage and its remedy, or null where one more apply worker fits. */
    Shortage shortage(String side, String direction) {
      String taken = "the " + others + " other enabled subscription(s) of " + side + "'s server (in all its databases) keep one"
          + " each, so the apply worker of " + direction + " would find none free and never start (\"out of logical replication"
          + " worker slots\" in " + side + "'s server log)";
      String orDisable = ", or disable the subscriptions that are not needed (ALTER SUBSCRIPTION ... DISABLE in their database)";
      if (workers < others + 1) {
        return new Shortage("max_logical_replication_workers is " + workers + " and " + taken,
            "ALTER SYSTEM SET max_logical_replication_workers = " + (others + 3) + " on " + side + " (max_worker_processes at"
                + " least " + (others + 4) + ") and restart" + orDisable);
      }
      // One for the launcher, one for each apply worker.
      if (processes < others + 2) {
        return new Shortage("max_worker_processes is " + processes + ", the launcher takes one background worker and " + taken,
            "ALTER SYSTEM SET max_worker_processes = " + (others + 4 + 8) + " on " + side + " (room for parallel queries and"
                + " extensions too) and restart" + orDisable);
      }
      return null;
    }
  }

  private static Room read(Connection c, String subscription) throws SQLException {
    long workers = Sql.number(c, "SELECT setting::bigint FROM pg_settings WHERE name = 'max_logical_replication_workers'");
    long processes = Sql.number(c, "SELECT setting::bigint FROM pg_settings WHERE name = 'max_worker_processes'");
    long others = Sql.number(c, "SELECT count(*) FILTER (WHERE subenabled AND NOT (subname = ? AND subdbid ="
        + " (SELECT oid FROM pg_database WHERE datname = current_database()))) FROM pg_subscription", subscription);
    return new Room(workers, processes, others);
  }

  /**
   * What stands in the way of {@code subscription}'s apply worker on {@code c}, side {@code side}:
   * an error-or-warning (as the caller weighs {@code direction}) where it would find no worker, a
   * warning where it alone would fit and a table added during the migration (a schema change's
   * REFRESH PUBLICATION) would find no table sync worker to copy it.
   */
  static Optional<Finding> finding(Connection c, String side, String subscription, Severity severity, String direction)
      throws SQLException {
    Room room = read(c, subscription);
    Shortage shortage = room.shortage(side, direction);
    if (shortage != null) {
      return Optional.of(new Finding(severity, side, "replication-workers", shortage.problem(), shortage.remedy()));
    }
    if (room.workers() == room.others() + 1) {
      return Optional.of(new Finding(Severity.WARNING, side, "replication-workers", "max_logical_replication_workers is "
          + room.workers() + " and the " + room.others() + " other enabled subscription(s) of " + side + "'s server keep one each:"
          + " the apply worker of " + direction + " takes the last, and a table a schema change adds during the migration waits"
          + " for a table sync worker until one is free", "ALTER SYSTEM SET max_logical_replication_workers = " + (room.others() + 3)
          + " on " + side + " and restart"));
    }
    return Optional.empty();
  }

  /** Fails with {@link Failure#PRECONDITION}, naming the setting and its remedy, where the apply worker would find no room; before {@code step} changes anything. */
  public static void require(Connection c, String side, String subscription, String direction, String step)
      throws SQLException, ReplicatorException {
    Shortage shortage = read(c, subscription).shortage(side, direction);
    if (shortage != null) {
      throw new ReplicatorException(Failure.PRECONDITION, side + ": " + shortage.problem() + " (" + step + " changed nothing)", shortage.remedy());
    }
  }

  /** Why {@code subscription}'s apply worker cannot start on {@code c} (side {@code side}), with the remedy, or empty where there is room. */
  public static Optional<String> shortage(Connection c, String side, String subscription, String direction) throws SQLException {
    Shortage shortage = read(c, subscription).shortage(side, direction);
    return shortage == null ? Optional.empty() : Optional.of(shortage.problem() + "; " + shortage.remedy());
  }
}
