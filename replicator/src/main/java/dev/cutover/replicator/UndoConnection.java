package dev.cutover.replicator;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The connection a failed step is undone with: the step's own while it still answers, else a new
 * one to the same endpoint. The failure being undone may be exactly that the step's connection was
 * lost (reset, or given up); undoing over it would fail too and leave new half-filled, its indexes
 * and keys set aside, so that start could not simply be run again. A side that does not take a new
 * connection either is tried again for {@link #RECONNECT_FOR}, which outlasts a restart, a failover
 * or a blip of the network. Decided at the first {@link #get}, so that an undo still does what it
 * can on one side while the other cannot be reached. A connection that does not answer is closed
 * first, so that a session the server still keeps for it holds the locks the undo needs no longer
 * than the server takes to notice. Closing this closes only a new connection.
 */
public final class UndoConnection implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(UndoConnection.class);
  /** How long the step's own connection has to answer. */
  private static final int ANSWER_WITHIN_SECONDS = 5;
  /** How long a side that takes no new connection is tried again. */
  private static final Duration RECONNECT_FOR = Duration.ofSeconds(60);
  private static final Duration RECONNECT_EVERY = Duration.ofSeconds(2);

  private final Connection used;
  private final Endpoint endpoint;
  private Connection connection;

  public UndoConnection(Connection used, Endpoint endpoint) {
    this.used = used;
    this.endpoint = endpoint;
  }

  /** One step of an undo, on one side. */
  @FunctionalInterface
  public interface Step {
    void run() throws Exception;
  }

  /**
   * Runs {@code step}, keeping its failure as suppressed by {@code cause} (the failure being undone,
   * which the caller throws): the undo goes on with its other steps, so that one side that cannot be
   * reached (silent, down) does not leave the other undone too. Returns whether the step was done.
   */
  public static boolean attempt(Exception cause, Step step) {
    try {
      step.run();
      return true;
    } catch (Exception e) {
      cause.addSuppressed(e);
      return false;
    }
  }

  /** The step's connection, or a new one to its endpoint where it does not answer. */
  public Connection get() throws ReplicatorException {
    if (connection == null) {
      if (answers(used)) {
        connection = used;
      } else {
        try {
          used.close();
        } catch (SQLException alreadyGone) {
          // A lost connection has nothing left to close.
        }
        connection = reconnect();
      }
    }
    return connection;
  }

  private Connection reconnect() throws ReplicatorException {
    long deadline = System.nanoTime() + RECONNECT_FOR.toNanos();
    for (int attempt = 1; ; attempt++) {
      try {
        return endpoint.connect();
      } catch (ReplicatorException e) {
        if (!(e.getCause() instanceof SQLException s && LostConnection.is(s)) || System.nanoTime() - deadline > 0
            || Thread.currentThread().isInterrupted()) {
          throw e;
        }
        if (attempt == 1) {
          LOG.warn("{}; undoing what failed needs it: trying again for up to {} s", e.getMessage(), RECONNECT_FOR.toSeconds());
        }
        LockSupport.parkNanos(RECONNECT_EVERY.toNanos());
      }
    }
  }

  private static boolean answers(Connection c) {
    try {
      return c.isValid(ANSWER_WITHIN_SECONDS);
    } catch (SQLException e) {
      return false;
    }
  }

  @Override
  public void close() throws SQLException {
    if (connection != null && connection != used) {
      connection.close();
    }
  }
}
