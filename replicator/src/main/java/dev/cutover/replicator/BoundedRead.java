package dev.cutover.replicator;

import dev.cutover.common.Transactions;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/**
 * The work of a command ({@code status}, {@code switch-status}, {@code check}, {@code sequences},
 * {@code switch-abort}, {@code switch-force}, {@code reverse}, {@code refresh}, {@code ddl-done},
 * {@code sync-large-objects}) whose statements must each be answered in time: behind a silent network or on a frozen server the
 * command, or its {@code --watch}, would otherwise hang without a word. The side that went silent is
 * named (PgJDBC closes a connection whose read timed out), as a {@link Failure#CONNECTION}, which a
 * watch outlives. A statement that may rightly run longer is exempt, and watched instead ({@link
 * SilenceWatch}).
 */
public final class BoundedRead {
  /** How much longer than a lock timeout an answer may take before the network is taken for silent. */
  private static final Duration ANSWER_SLACK = Duration.ofSeconds(1);

  /** What a side that answered nothing in time may be going through, for messages. */
  public static final String SILENCE = "a silent network, a frozen server, or a statement waiting that long for a lock";

  private BoundedRead() {}

  /**
   * Runs {@code work} with no statement on the {@code sides}' connections waiting longer than
   * {@code timeout} for its answer.
   *
   * @param sides each connection by the name of its side ("old", "new")
   * @param option the setting that gives the read longer, named in the remedy; null when there is none
   * @throws ReplicatorException {@link Failure#CONNECTION} when a statement went unanswered
   */
  public static <T, E extends Exception> T within(Duration timeout, String option, Map<String, Connection> sides,
      Sql.ThrowingWork<T, E> work) throws SQLException, E, ReplicatorException {
    Connection[] connections = sides.values().toArray(Connection[]::new);
    try {
      return Sql.answeringWithin(timeout, work, connections);
    } catch (SQLException e) {
      if (!Sql.unanswered(e)) {
        throw e;
      }
      String side = silentSide(sides);
      throw new ReplicatorException(Failure.CONNECTION,
          side + ": no answer for " + timeout.toMillis() + "ms (" + SILENCE + ")",
          "check the network to " + side + " and what its statements wait for"
              + (option == null ? "" : ", or allow longer with " + option), e);
    }
  }

  /**
   * {@code work} in a transaction on {@code writer} whose lock waits end after {@code timeout} on the
   * server (55P03): a request cut off by the client alone would still be carried out once the lock
   * came free. Every answer on the {@code sides} is awaited a moment longer than that (a silent
   * network, named as {@link #within} names it).
   */
  public static <T> T locking(Duration timeout, String option, Map<String, Connection> sides, Connection writer,
      Transactions.Work<T> work) throws SQLException, ReplicatorException {
    return within(timeout.plus(ANSWER_SLACK), option, sides, () -> Transactions.inTransaction(writer, () -> {
      Sql.execute(writer, "SET LOCAL lock_timeout = '" + timeout.toMillis() + "ms'");
      return work.run();
    }));
  }

  private static String silentSide(Map<String, Connection> sides) {
    return silent(sides).orElse(String.join(" or ", sides.keySet()));
  }

  /**
   * The side, by name, whose statement went unanswered and was cut off (PgJDBC closes such a
   * connection); empty when every side's connection is open. After a bounded wait that failed, it
   * tells a side that did not answer, which says nothing of replication, from replication that did
   * not deliver.
   */
  public static Optional<String> silent(Map<String, Connection> sides) {
    return sides.entrySet().stream().filter(side -> Sql.givenUp(side.getValue())).map(Map.Entry::getKey).findFirst();
  }
}
