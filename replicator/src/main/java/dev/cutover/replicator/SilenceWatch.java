package dev.cutover.replicator;

import dev.cutover.common.Threads;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.postgresql.PGConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gives up a command's connections to one side when the network to it went silent (a stalled proxy,
 * NAT or firewall that keeps the TCP connection, which keepalive does not notice), for commands whose
 * statements may rightly run for hours and so can have no read limit: {@code start}'s copy and index
 * builds, {@code verify}'s hashes, a refresh. A session of its own on the side looks, every quarter
 * of the timeout, at the backends of the watched connections whose client is waiting on its socket
 * now ({@link WaitingSocket}), in {@code pg_stat_activity}. A backend that is itself waiting on its
 * client (done with the statement, or reading or writing the client's socket) while the client waits
 * on it means that nothing passes between them: once the same wait of the client's has gone on with
 * its backend seen so for the timeout, the connection's socket is cut, and the call that waited fails.
 * A backend at work (scanning, sorting, building, waiting for a lock or for the disk) is never given
 * up, however long. When the watching session's own question goes unanswered within the timeout, the
 * side is silent: every connection whose client has waited that long is cut, then and at each look
 * until a question is answered again (before the session's new login, which may wait out its own
 * timeout).
 *
 * <p>Giving up a connection closes only the replicator's end: its server session goes on, in its
 * transaction and with its locks, until the server notices its client gone, about a minute when it
 * waits to read, up to the kernel's retransmission limit (about 15 minutes) when it is stuck
 * writing, and for ever behind a middlebox that keeps acknowledging. Such a session would hold a
 * table against the application's writers (adopt's lock) or against the undo of what failed
 * (start's copy into new). So the session of every watched connection lost on the replicator's
 * side (given up here, or failed reading or writing, as on its own read limit) is ended ({@code
 * pg_terminate_backend}, named by process id and start time) as soon as the side answers; a
 * command that fails so says which it ended, and names the statement that ends those it could not
 * reach.
 *
 * <p>Before PostgreSQL 10 a backend waiting on its client shows no wait event: a stalled COPY or a
 * lost answer to a statement still running is then seen only once the backend is done.
 */
public final class SilenceWatch implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SilenceWatch.class);
  /**
   * Whether each backend is at work: running a statement (or a fast-path call, as large objects'
   * reads and writes are) and not waiting on its client. A state it may not see counts as at work.
   */
  private static final String BUSY = "SELECT pid, state IS NULL OR (state IN ('active', 'fastpath function call')"
      + " AND coalesce(wait_event NOT IN ('ClientRead', 'ClientWrite'), true)) FROM pg_catalog.pg_stat_activity WHERE pid = ANY (?)";

  private final Endpoint side;
  private final Duration timeout;
  private final List<Watched> watched = new CopyOnWriteArrayList<>();
  private final CountDownLatch stop = new CountDownLatch(1);
  private Thread thread;
  /** The session that asks; null after its question went unanswered, until opened again. */
  private Connection asking;
  /** Whether the last question went unanswered, or the login after it failed so: the side is silent until one is answered. */
  private boolean unanswered;
  private volatile String gaveUp;
  /** Sessions that may still run after their connection was lost, until ended or seen gone. Guarded by this. */
  private final List<Watched> leftRunning = new ArrayList<>();
  /** Those ended, named for the failure. Guarded by this. */
  private final List<String> ended = new ArrayList<>();

  private SilenceWatch(Endpoint side, Duration timeout, Connection asking) {
    this.side = side;
    this.timeout = timeout;
    this.asking = asking;
  }

  /** Work done over both sides' endpoints. */
  @FunctionalInterface
  public interface OnBothSides<T> {
    T run(Endpoint old, Endpoint nw) throws Exception;
  }

  /**
   * Runs {@code work} over {@code old} and {@code nw} with every connection they open watched. When
   * it fails after a watch cut a connection, the failure names that side as a {@link
   * Failure#CONNECTION}, whatever the cut connection's call made of it.
   *
   * @param option the setting that gives the network longer, named in the remedy
   */
  public static <T> T watching(Endpoint old, Endpoint nw, Duration timeout, String option, OnBothSides<T> work) throws Exception {
    try (SilenceWatch onOld = start(old, timeout); SilenceWatch onNew = start(nw, timeout)) {
      try {
        return work.run(old.watchedBy(onOld), nw.watchedBy(onNew));
      } catch (Exception e) {
        for (SilenceWatch w : List.of(onOld, onNew)) {
          LeftRunning left = w.leftRunningSaid();
          if (w.gaveUp != null) {
            throw new ReplicatorException(Failure.CONNECTION, w.gaveUp + " (a silent network: a proxy, NAT or firewall that passes"
                + " nothing on; or a frozen server)" + left.message(), left.remedy() + "check the network to " + w.side()
                + ", or allow longer with " + option, e);
          }
          if (e instanceof ReplicatorException r && !left.message().isEmpty()) {
            // A read limit gave the connection up (BoundedRead), not this watch.
            ReplicatorException said = new ReplicatorException(r.failure(), r.getMessage() + left.message(), left.remedy() + r.remedy(),
                r.getCause());
            Arrays.stream(r.getSuppressed()).forEach(said::addSuppressed);
            throw said;
          }
        }
        throw e;
      }
    }
  }

  /** Starts watching the connections {@link Endpoint#watchedBy} this watch opens to {@code side}. */
  static SilenceWatch start(Endpoint side, Duration timeout) throws SQLException, ReplicatorException {
    if (timeout.toMillis() < 1) {
      throw new IllegalArgumentException("the network timeout must be at least 1ms, not " + timeout.toMillis() + "ms");
    }
    SilenceWatch w = new SilenceWatch(side, timeout, asking(side, timeout));
    w.thread = Threads.start("cutover-silence-" + side.side().label(), w::run);
    return w;
  }

  /** A session to {@code side} whose login and every answer are awaited {@code timeout} at most. */
  private static Connection asking(Endpoint side, Duration timeout) throws SQLException, ReplicatorException {
    Connection c = side.connectWithin(timeout);
    try {
      Sql.answerWithin(timeout, c);
      return c;
    } catch (SQLException e) {
      c.close();
      throw e;
    }
  }

  private String side() {
    return side.side().label();
  }

  /**
   * Refuses a new connection to a side this watch gave a connection up on, unless the side answers
   * the watch's own question now (a login within the timeout if need be): the command is stopping,
   * and a login to a silent side would wait out its own timeout (an undo reaching that side again,
   * say), while one lost flow says nothing of the next. Where the side answers, the sessions left
   * running are ended first, so that an undo does not wait for their locks.
   */
  void requireAnswering() throws ReplicatorException {
    String why = gaveUp;
    if (why != null && !answersNow()) {
      throw new ReplicatorException(Failure.CONNECTION, why + "; not tried again", "check the network to " + side());
    }
  }

  /** Whether the side answers a question now; if so, the sessions left running have been ended. */
  private synchronized boolean answersNow() {
    sweep();
    endLeftRunning(true);
    return asking != null;
  }

  /**
   * What became of the sessions left running, said in a failure: the tail of its message and the
   * start of its remedy (the statement that ends those not reached); both empty where there is
   * nothing to say.
   */
  private record LeftRunning(String message, String remedy) {}

  private synchronized LeftRunning leftRunningSaid() {
    sweep();
    endLeftRunning(false);
    String label = side();
    String message = ended.isEmpty() ? "" : "; its session" + (ended.size() == 1 ? "" : "s") + " left running on " + label + " ("
        + String.join(", ", ended) + (ended.size() == 1 ? ") was ended, and with it its transaction and its locks"
            : ") were ended, and with them their transactions and their locks");
    if (leftRunning.isEmpty()) {
      return new LeftRunning(message, "");
    }
    String pids = leftRunning.stream().map(w -> "process " + w.pid).collect(Collectors.joining(", "));
    String which = leftRunning.stream().map(w -> "(" + w.pid + ", " + Sql.literal(w.started) + "::timestamptz)")
        .collect(Collectors.joining(", "));
    boolean one = leftRunning.size() == 1;
    return new LeftRunning(message + "; its session" + (one ? "" : "s") + " on " + label + " (" + pids + ") may still be running, in "
        + (one ? "its transaction and with its" : "their transactions and with their") + " locks, until " + label + " notices the"
        + " connection gone (a minute, or far longer mid-COPY): " + label + " answered no new login within " + timeout.toMillis() + "ms",
        "as soon as " + label + " answers, end " + (one ? "it" : "them") + " there (SELECT pg_terminate_backend(pid) FROM"
            + " pg_stat_activity WHERE (pid, backend_start) IN (" + which + ")); ");
  }

  /**
   * Ends the sessions left running that are still there, asking (logging in again within the
   * timeout if need be); those not reached stay listed. With none left running, it asks only where
   * {@code login} says so: to learn whether the side answers.
   */
  private void endLeftRunning(boolean login) {
    if (leftRunning.isEmpty() && !login) {
      return;
    }
    try {
      if (asking == null) {
        asking = asking(side, timeout);
      }
      try (PreparedStatement ps = asking.prepareStatement("SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity"
          + " WHERE pid = ? AND backend_start = ?::timestamptz")) {
        for (Watched w : List.copyOf(leftRunning)) {
          ps.setInt(1, w.pid);
          ps.setString(2, w.started);
          try (ResultSet rs = ps.executeQuery()) {
            if (rs.next() && rs.getBoolean(1)) {
              LOG.info("{}: ended the replicator's session left running (process {}, started {}) after its connection was closed",
                  side(), w.pid, w.started);
              ended.add("process " + w.pid);
            }
          }
          leftRunning.remove(w);
        }
      }
      unanswered = false;
    } catch (SQLException | ReplicatorException e) {
      closeAsking();
      if (silent(e)) {
        unanswered = true;
      } else {
        LOG.warn("{}: could not end the replicator's sessions left running: {}", side(), e.getMessage());
      }
    }
  }

  /** Watches {@code c}, whose socket is {@code socket} (none, as with a socketFactory in the URL: not watched). */
  void add(Connection c, WaitingSocket socket) throws SQLException {
    if (socket != null) {
      String started = Sql.string(c, "SELECT backend_start::text FROM pg_catalog.pg_stat_activity WHERE pid = pg_catalog.pg_backend_pid()");
      watched.add(new Watched(c, c.unwrap(PGConnection.class).getBackendPID(), started, socket));
    }
  }

  @Override
  public void close() throws SQLException {
    stop.countDown();
    try {
      thread.join(timeout.multipliedBy(2).toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (asking != null) {
      asking.close();
    }
  }

  private void run() {
    try {
      while (!stop.await(Math.max(1, timeout.toMillis() / 4), TimeUnit.MILLISECONDS)) {
        look();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** One look: asks about the backends whose client waits now, and cuts those given up. */
  private synchronized void look() {
    sweep();
    if (!lookAtWaiting() || !unanswered) {
      endLeftRunning(false);
    }
  }

  /** Stops watching closed connections, keeping those lost (not closed by the command) as left running. */
  private void sweep() {
    for (Watched w : watched) {
      if (Sql.givenUp(w.connection)) {
        watched.remove(w);
        if (w.socket.failed()) {
          leftRunning.add(w);
        }
      }
    }
  }

  /**
   * Asks about the backends whose client waits now, and cuts those given up; returns whether it
   * asked (logging in again if need be).
   */
  private boolean lookAtWaiting() {
    List<Watched> waiting = new ArrayList<>();
    for (Watched w : watched) {
      if (w.socket.waitingSince() == WaitingSocket.NOT_WAITING) {
        w.forget();
      } else {
        waiting.add(w);
      }
    }
    if (waiting.isEmpty()) {
      return false;
    }
    if (unanswered) {
      // Before a new login, which may wait out its own timeout, the side's silence so far is acted on.
      cutThoseWaitingTheTimeout(waiting);
    }
    Map<Integer, Boolean> busy;
    try {
      busy = busy(waiting);
      unanswered = false;
    } catch (SQLException | ReplicatorException e) {
      closeAsking();
      if (silent(e)) {
        unanswered = true;
        cutThoseWaitingTheTimeout(waiting);
      }
      return true;
    }
    long now = System.nanoTime();
    for (Watched w : waiting) {
      long call = w.socket.waitingSince();
      boolean waitsOnClient = !busy.getOrDefault(w.pid, false);
      if (call == WaitingSocket.NOT_WAITING) {
        w.forget();
      } else if (call != w.call || !waitsOnClient) {
        w.call = call;
        w.bothSince = waitsOnClient ? now : WaitingSocket.NOT_WAITING;
      } else if (w.bothSince == WaitingSocket.NOT_WAITING) {
        w.bothSince = now;
      } else if (now - w.bothSince >= timeout.toNanos() && w.socket.waitingSince() == call) {
        cut(w, side() + ": no answer for " + timeout.toMillis() + "ms while its server waited on the replicator");
      }
    }
    return true;
  }

  private void cutThoseWaitingTheTimeout(List<Watched> waiting) {
    for (Watched w : waiting) {
      long since = w.socket.waitingSince();
      if (since != WaitingSocket.NOT_WAITING && watched.contains(w) && System.nanoTime() - since >= timeout.toNanos()) {
        cut(w, side() + ": no answer for " + timeout.toMillis() + "ms, not even to the session watching the replicator's connections");
      }
    }
  }

  /** Whether each waiting connection's backend is at work, by pid; a pid missing is a backend gone. */
  private Map<Integer, Boolean> busy(List<Watched> waiting) throws SQLException, ReplicatorException {
    if (asking == null) {
      asking = asking(side, timeout);
    }
    Map<Integer, Boolean> busy = new HashMap<>();
    try (PreparedStatement ps = asking.prepareStatement(BUSY)) {
      ps.setArray(1, asking.createArrayOf("int4", waiting.stream().map(w -> w.pid).toArray()));
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          busy.put(rs.getInt(1), rs.getBoolean(2));
        }
      }
    }
    return busy;
  }

  /**
   * Whether the watching session's failure says the side is silent: its question went unanswered, or
   * it could not log in again (no answer, no route). Another failure (too many connections, say) says
   * nothing of the watched ones, which are asked about again at the next look.
   */
  private static boolean silent(Exception e) {
    if (e instanceof SQLException s) {
      return Sql.unanswered(s);
    }
    return e.getCause() instanceof SQLException s && s.getSQLState() != null && s.getSQLState().startsWith("08");
  }

  private void closeAsking() {
    if (asking != null) {
      try {
        asking.close();
      } catch (SQLException e) {
        // A session given up already: nothing to close cleanly.
      }
      asking = null;
    }
  }

  private void cut(Watched w, String why) {
    gaveUp = why;
    watched.remove(w);
    w.socket.cut();
    leftRunning.add(w);
  }

  /** A watched connection, and what the last look saw of it. */
  private static final class Watched {
    final Connection connection;
    final int pid;
    /** The session's {@code backend_start}: with the pid, it names that session alone. */
    final String started;
    final WaitingSocket socket;
    /** The client's wait ({@link WaitingSocket#waitingSince}) the last look saw. */
    long call = WaitingSocket.NOT_WAITING;
    /** Since when, in that wait, the backend has been seen waiting on its client. */
    long bothSince = WaitingSocket.NOT_WAITING;

    Watched(Connection connection, int pid, String started, WaitingSocket socket) {
      this.connection = connection;
      this.pid = pid;
      this.started = started;
      this.socket = socket;
    }

    void forget() {
      call = WaitingSocket.NOT_WAITING;
      bothSince = WaitingSocket.NOT_WAITING;
    }
  }
}
