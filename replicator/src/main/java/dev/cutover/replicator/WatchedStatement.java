package dev.cutover.replicator;

import dev.cutover.common.Threads;
import dev.cutover.common.Transactions;
import dev.cutover.replicator.sql.Sql;
import java.net.SocketTimeoutException;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.postgresql.PGConnection;

/**
 * Statements that may rightly run longer than a command's {@code --network-timeout} (a {@code REFRESH
 * MATERIALIZED VIEW} of a big view, the checksums of every large object), on a connection whose other statements must each be answered
 * within it ({@link BoundedRead#within}). A read limit would cut such a statement as if the network
 * were silent; without one, a network gone silent under it would keep the command waiting for ever
 * (TCP keepalive notices a dead host, not a stalled proxy or NAT that keeps the connection). So each
 * runs with no read limit, and a session of its own on the same side asks every half timeout,
 * answered within the timeout, whether the statement's backend still runs it. The statement is given
 * up (its connection aborted) when that question goes unanswered (the side, or the way to it, went
 * silent), or when the backend has been done for the timeout and its answer has not arrived (this
 * connection's way went silent). It then fails as {@link Sql#unanswered}, so that {@link
 * BoundedRead#within} around it names the side.
 *
 * <p>A statement runs on the caller's thread, its watch on a daemon thread that ends before the
 * statement's call returns; {@link #close} closes the watching session.
 */
final class WatchedStatement implements AutoCloseable {
  private static final String STATE = "SELECT state FROM pg_stat_activity WHERE pid = ?";

  private final Connection watching;
  private final Connection connection;
  private final String side;
  private final Duration timeout;

  private WatchedStatement(Connection watching, Connection connection, String side, Duration timeout) {
    this.watching = watching;
    this.connection = connection;
    this.side = side;
    this.timeout = timeout;
  }

  /** Opens the session that watches {@code connection}'s long statements, a connection to {@code side}. */
  static WatchedStatement open(Endpoint side, Connection connection, Duration timeout) throws ReplicatorException, SQLException {
    Connection watching = side.connect();
    try {
      Sql.answerWithin(timeout, watching);
      return new WatchedStatement(watching, connection, side.side().label(), timeout);
    } catch (SQLException e) {
      watching.close();
      throw e;
    }
  }

  /** Runs {@code statement} on the watched connection with no read limit, given up only as the class comment says. */
  <T> T run(Transactions.Work<T> statement) throws SQLException {
    Watch watch = new Watch(connection.unwrap(PGConnection.class).getBackendPID());
    Thread thread = Threads.start("cutover-watch-" + side, watch::run);
    try {
      return Sql.answeringWithin(Duration.ZERO, statement::run, connection);
    } catch (SQLException e) {
      if (watch.gaveUp == null) {
        throw e;
      }
      SQLException unanswered = new SQLException(side + ": no answer to a statement that was being watched", "08006", watch.gaveUp);
      unanswered.addSuppressed(e);
      throw unanswered;
    } finally {
      watch.stop.countDown();
      joinQuietly(thread);
    }
  }

  @Override
  public void close() throws SQLException {
    watching.close();
  }

  /** Waits for the watch, whose one question at a time is answered within the timeout or given up. */
  private void joinQuietly(Thread thread) {
    try {
      thread.join(timeout.multipliedBy(2).toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** One statement's watch; {@link #gaveUp} is written before the abort that wakes the statement's thread. */
  private final class Watch {
    private final int pid;
    private final CountDownLatch stop = new CountDownLatch(1);
    private volatile Exception gaveUp;

    Watch(int pid) {
      this.pid = pid;
    }

    void run() {
      long doneSince = -1;
      try {
        while (!stop.await(Math.max(1, timeout.toMillis() / 2), TimeUnit.MILLISECONDS)) {
          if ("active".equals(Sql.string(watching, STATE, pid))) {
            doneSince = -1;
          } else if (doneSince < 0) {
            doneSince = System.nanoTime();
          } else if (System.nanoTime() - doneSince >= timeout.toNanos()) {
            giveUp(new SocketTimeoutException("its backend was done for " + timeout.toMillis() + " ms and its answer did not arrive"));
            return;
          }
        }
      } catch (SQLException e) {
        // Unanswered: the side went silent. Any other failure leaves the statement to run on unwatched.
        if (Sql.unanswered(e)) {
          giveUp(e);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    /** Aborts the statement's connection, unless its answer came meanwhile. */
    private void giveUp(Exception why) {
      if (stop.getCount() == 0) {
        return;
      }
      gaveUp = why;
      try {
        connection.abort(Runnable::run);
      } catch (SQLException e) {
        why.addSuppressed(e);
      }
    }
  }
}
