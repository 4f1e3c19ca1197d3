package dev.cutover.driver.internal.switching;

import dev.cutover.driver.internal.session.AdvisoryLock;
import dev.cutover.driver.internal.session.Backend;
import dev.cutover.driver.internal.session.SessionSnapshot;
import dev.cutover.flags.Target;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.postgresql.core.BaseConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How a router's sessions keep what they hold across a switch, beyond the settings each session
 * carries itself when it moves ({@link SessionSnapshot}).
 *
 * <p>Two steps run on the switch thread, under the closed gate. {@link #rollBack} ends the
 * stragglers' transactions, each session reading its own state first so that its recovery keeps
 * it. {@link #reserve} then takes on the target, on a connection reserved for each session, what
 * no one else may take there before the session arrives: its session-level advisory locks (still
 * exclusive across the switch) and its LISTEN channels (so a notification sent on the target right
 * after release is not missed). A session takes its reservation when it moves ({@link #acquire}).
 * An idle session whose backend ran on another server than the one the switch reaches cannot be
 * read: it is made to fail its next use rather than move without its locks ({@link #reserve}); one
 * whose process the switch's role cannot see aborts the switch ({@link #refuseUnseen}).
 *
 * <p>Behind a transaction pooler a session has no state of its own, so neither step carries any.
 *
 * <p>Concurrency: reservations are written by the switch thread and taken by session owners; the
 * map is concurrent and each entry is removed exactly once.
 */
public final class Handover {
  private static final Logger LOG = LoggerFactory.getLogger(Handover.class);

  private final Router router;
  private final Map<Session, Reserved> reserved = new ConcurrentHashMap<>();
  private volatile boolean oldPooled;
  private volatile boolean newPooled;
  private volatile List<String> customSettings;

  /** A connection reserved on {@code side}, holding {@code locks} (and listening) for a session. */
  private record Reserved(Target side, Connection connection, List<AdvisoryLock> locks) {}

  /** Where a moving session's physical connection comes from. */
  public enum Origin {
    /** Reserved by the switch for this session: it holds the session's advisory locks and listens on its channels. */
    RESERVED,
    /**
     * Opened ahead by the switch, before it released: it has idled since, unchecked, and the target
     * may have ended it meanwhile (its {@code idle_session_timeout}, a restart, {@code
     * pg_terminate_backend}).
     */
    OPENED_AHEAD,
    /** Opened for the session now. */
    OPENED_NOW
  }

  /**
   * A physical connection for a session that moves.
   *
   * @param connection the connection
   * @param origin where it comes from
   * @param locks the advisory locks a reserved connection holds for the session (none otherwise)
   */
  public record Acquired(Connection connection, Origin origin, List<AdvisoryLock> locks) {
    /** A connection opened for the session now. */
    public Acquired(Connection connection) {
      this(connection, Origin.OPENED_NOW, List.of());
    }

    /** Whether the switch reserved it for this session (it holds the session's locks and channels already). */
    public boolean reserved() {
      return origin == Origin.RESERVED;
    }

    /** Whether it was opened before the switch released (reserved, or opened ahead), unchecked since. */
    public boolean ahead() {
      return origin != Origin.OPENED_NOW;
    }
  }

  Handover(Router router) {
    this.router = router;
  }

  /** Whether the application's connections to {@code side} go through a pooler (no session state of their own). */
  public boolean pooled(Target side) {
    return side == Target.OLD ? oldPooled : newPooled;
  }

  void pooled(Target side, boolean pooled) {
    if (side == Target.OLD) {
      oldPooled = pooled;
    } else {
      newPooled = pooled;
    }
  }

  /**
   * The custom settings a session reads by name when it moves, found at the last switch's start;
   * {@code null} before the first switch or when the source is pooled (nothing to read then).
   */
  public List<String> customSettings() {
    return customSettings;
  }

  void customSettings(List<String> names) {
    customSettings = names;
  }

  /**
   * What {@link #rollBack} did.
   *
   * @param count transactions rolled back
   * @param backends their server processes, to wait for (none behind a pooler, where they are unknown)
   */
  record RolledBack(int count, List<Backend> backends) {}

  /**
   * Rolls back every session still in a transaction, in parallel, each bounded by {@code
   * timeoutNanos}.
   */
  RolledBack rollBack(String why, long timeoutNanos) {
    List<CompletableFuture<Integer>> dooming = new ArrayList<>();
    List<Backend> bound = new ArrayList<>();
    for (Session s : router.sessions()) {
      if (s.activity() == Session.BUSY) {
        // Read before the doom: the session may move to another connection once it is over.
        bound.add(s.backend());
        dooming.add(CompletableFuture.supplyAsync(() -> s.doom(why, timeoutNanos), DriverThreads.blocking()));
      }
    }
    int count = 0;
    List<Backend> backends = new ArrayList<>();
    for (int i = 0; i < dooming.size(); i++) {
      // doom bounds itself; the margin covers the thread hand-off
      Integer pid = await(dooming.get(i), timeoutNanos + TimeUnit.SECONDS.toNanos(1));
      if (pid != null && pid >= 0) {
        count++;
      }
      if (pid != null && pid > 0) {
        backends.add(bound.get(i).pid() == pid ? bound.get(i) : Backend.unknown(pid));
      }
    }
    return new RolledBack(count, backends);
  }

  /**
   * Takes on {@code to}, for each session that holds any, the advisory locks and LISTEN channels it
   * holds on {@code from}, on a connection reserved for it (taken from {@code ready}, the
   * connections opened ahead, or opened now). Every connection it waits on is bounded by {@code
   * watchdog}: the gate is closed meanwhile, and the application's connections carry no timeout.
   *
   * <p>Only sessions whose backend runs on the server {@code source} reaches ({@code reached}, its
   * own backend) are read there; the others fail their next use ({@link #onSourceServer}).
   *
   * @throws SQLException when a lock is held on the target by someone else: the switch aborts,
   *     since the lock would no longer be exclusive; or when the watchdog aborted a connection
   */
  void reserve(Connection source, Backend reached, List<Connection> ready, Target from, Target to,
      long timeoutNanos, SwitchWatchdog watchdog) throws SQLException {
    discard(to);
    if (pooled(from) || pooled(to)) {
      return;
    }
    Map<Session, List<AdvisoryLock>> locks = new HashMap<>();
    Map<Session, List<String>> channels = new HashMap<>();
    List<Session> idle = new ArrayList<>();
    for (Session s : router.sessions()) {
      if (s.side() != from) {
        continue;
      }
      SessionSnapshot held = s.held();
      if (s.activity() == Session.DOOMED) {
        if (held != null) {
          locks.put(s, held.locks());
          channels.put(s, listening(s, held.channels()));
        }
      } else if (s.backendPid() > 0) {
        idle.add(s);
      }
    }
    Map<Integer, Session> here = onSourceServer(reached, idle, from, to);
    refuseUnseen(source, here, from, to);
    AdvisoryLock.heldBy(source, here.values().stream().map(Session::backend).toList())
        .forEach((pid, held) -> locks.put(here.get(pid), held));
    readChannels(source, here.values().stream().filter(Session::listens).toList(), channels, timeoutNanos);

    List<Session> holding = new ArrayList<>();
    for (Session s : router.sessions()) {
      if (!locks.getOrDefault(s, List.of()).isEmpty() || !channels.getOrDefault(s, List.of()).isEmpty()) {
        holding.add(s);
      }
    }
    List<Connection> more = openMore(holding.size() - ready.size(), to, watchdog);
    for (Session s : holding) {
      Connection connection = ready.isEmpty() ? more.remove(more.size() - 1) : ready.remove(ready.size() - 1);
      // The application's settings (no socket timeout): watched, or a silent target would keep the gate closed.
      try (SwitchWatchdog.Step watch = watchdog.watching(connection)) {
        SessionSnapshot.holding(locks.getOrDefault(s, List.of()), channels.getOrDefault(s, List.of()))
            .applyTo(connection.unwrap(BaseConnection.class), true, List.of());
      } catch (SQLException | RuntimeException e) {
        Router.closeQuietly(connection);
        more.forEach(Router::closeQuietly);
        throw e;
      }
      Reserved previous = reserved.put(s, new Reserved(to, connection, List.copyOf(locks.getOrDefault(s, List.of()))));
      if (previous != null) {
        Router.closeQuietly(previous.connection());
      }
    }
  }

  /**
   * The idle sessions whose backend runs on the server the switch's connection to the source
   * reaches ({@code reached}, that connection's backend), by process id: only there can their locks and channels be read. One that ran on
   * another (the source failed over, or a load balancer or DNS moved its URL since it logged in),
   * or whose server is unknown, cannot be read: moved silently, its application would go on
   * believing it holds advisory locks that no one holds on the target (and, had its server died,
   * nowhere). It is made to fail its next use instead ({@link Session#strand}), whether or not the
   * switch completes: its server is not the one the source's URL leads to any more. The switch goes
   * on, since such a connection may idle in a pool for as long as the pool keeps it.
   */
  private Map<Integer, Session> onSourceServer(Backend reached, List<Session> idle, Target from, Target to) {
    Map<Integer, Session> here = new HashMap<>();
    if (idle.isEmpty()) {
      return here;
    }
    for (Session s : idle) {
      Backend b = s.backend();
      if (b.sameServer(reached)) {
        here.put(b.pid(), s);
      } else {
        String where = b.serverStarted() == null ? "the server of its " + b + " could not be read when it logged in,"
            + " so it is not known to have run on" : "its " + b + " ran on another server than";
        s.strand(where + " the one the switch's connection to the " + from.value() + " database reaches, " + reached.server() + " (server up since " + reached.serverStarted() + " UTC): the " + from.value() + " database failed over, or a load balancer or DNS"
            + " moved its URL (" + Switchover.urlSettings(from) + ") since it logged in. Its advisory locks could not be"
            + " read there nor taken on the " + to.value() + " database, so what they guarded is no longer exclusive"
            + " to it (had its server died, they died with it), and its session state cannot move");
      }
    }
    if (here.size() < idle.size()) {
      LOG.warn("cutover {}: {} idle session(s) ran on another server than the one the switch's connection to the {}"
          + " database reaches, {} (server up since {} UTC); each fails its next use with 08003 and is replaced",
          router.service(), idle.size() - here.size(), from.value(), reached.server(), reached.serverStarted());
    }
    return here;
  }

  /**
   * Aborts the switch when its connection to the source cannot see the start of an idle session's
   * process ({@link Backend#hidden}: another role's, without {@code pg_read_all_stats}): its locks
   * cannot be told from those of another session that has its process id since, and {@link
   * AdvisoryLock#heldBy} would read none, moving it without them. Not stranded, as a session on
   * another server is ({@link #onSourceServer}): the cause is the switch's role, so every idle
   * session of every switch would be, while a grant ends it; aborting leaves each on the source
   * with its locks. The switch's checks refuse such a switch before its gate ({@link
   * SwitchCheck#unseenSessions}); this is the backstop for a session that logged in since.
   */
  private static void refuseUnseen(Connection source, Map<Integer, Session> here, Target from, Target to)
      throws SQLException {
    if (here.isEmpty()) {
      return;
    }
    Backend.Hidden hidden = Backend.hidden(source, here.values().stream().map(Session::backend).toList());
    if (!hidden.pids().isEmpty()) {
      throw new Switchover.Abort("the advisory locks of idle sessions on " + from.value() + " (backends "
          + hidden.pids() + ") cannot be read, and moved without them what they guard would not be exclusive to"
          + " them on " + to.value() + "; they stay on " + from.value() + " with their locks: "
          + Switchover.unseen(hidden, from));
    }
  }

  /**
   * Opens {@code count} more connections to {@code to} for sessions that came after the switch
   * opened its connections ahead: on other threads, since an application connection has no login
   * timeout of its own, and abandoned when the watchdog fires or none opens for the barrier timeout.
   */
  private List<Connection> openMore(int count, Target to, SwitchWatchdog watchdog) throws SQLException {
    if (count <= 0) {
      return new ArrayList<>();
    }
    Prewarm opening = Prewarm.start(count, () -> router.openApp(to));
    try {
      return new ArrayList<>(opening.await(router.settings().barrierTimeout(), () -> watchdog.reason() != null));
    } catch (SQLException | RuntimeException e) {
      opening.discard();
      throw e;
    } catch (InterruptedException e) {
      opening.discard();
      Thread.currentThread().interrupt();
      throw new SQLException("cutover: interrupted while opening connections to the " + to.value() + " database", "08001", e);
    }
  }

  /** A listener keeps listening on the wake channel wherever it goes. */
  private static List<String> listening(Session s, List<String> channels) {
    if (!s.listens()) {
      return channels;
    }
    List<String> all = new ArrayList<>(channels);
    all.add(Session.WAKE_CHANNEL);
    return all;
  }

  /**
   * Wakes the sessions that wait for notifications (their wait holds their connection) and reads
   * their channels. One that cannot be read in time re-listens when it moves, and may miss what is
   * sent on the target in between: logged, not fatal.
   */
  private void readChannels(Connection source, List<Session> listeners, Map<Session, List<String>> channels,
      long timeoutNanos) throws SQLException {
    if (listeners.isEmpty()) {
      return;
    }
    try (Statement s = source.createStatement()) {
      s.execute("SELECT pg_catalog.pg_notify('" + Session.WAKE_CHANNEL + "', '')");
    }
    Map<Session, CompletableFuture<List<String>>> reading = new HashMap<>();
    for (Session s : listeners) {
      reading.put(s, CompletableFuture.supplyAsync(() -> {
        try {
          return s.channels();
        } catch (SQLException e) {
          throw new java.util.concurrent.CompletionException(e);
        }
      }, DriverThreads.blocking()));
    }
    long deadline = System.nanoTime() + timeoutNanos;
    reading.forEach((s, f) -> {
      List<String> read = await(f, deadline - System.nanoTime());
      if (read == null) {
        LOG.warn("cutover {}: could not read the LISTEN channels of {} within {} ms; it listens again on the target"
            + " when it moves, and may miss notifications sent there before", router.service(), s,
            TimeUnit.NANOSECONDS.toMillis(timeoutNanos));
      } else {
        channels.put(s, listening(s, read));
      }
    });
  }

  private static <T> T await(CompletableFuture<T> f, long timeoutNanos) {
    try {
      return f.get(Math.max(0, timeoutNanos), TimeUnit.NANOSECONDS);
    } catch (ExecutionException | TimeoutException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  /**
   * The connection for {@code session} to {@code side}: its reservation there, else one opened
   * ahead, else a new one. A reservation on the other side stays (a session rolled back by a switch
   * recovers on the source before the switch releases). Neither a reservation nor one opened ahead
   * is checked here: the session's set-up on it is the check, one round trip it makes anyway
   * (see {@link Acquired#ahead}); a session that finds one opened ahead dead asks again.
   */
  Acquired acquire(Session session, Target side) throws SQLException {
    Reserved r = reserved.get(session);
    if (r != null && r.side() == side && reserved.remove(session, r)) {
      return new Acquired(r.connection(), Origin.RESERVED, r.locks());
    }
    Connection ahead = router.warm().take(side);
    if (ahead != null) {
      return new Acquired(ahead, Origin.OPENED_AHEAD, List.of());
    }
    return new Acquired(router.openApp(side));
  }

  /** Releases what was reserved for {@code session} (it closed, or it stays where it is). */
  void drop(Session session) {
    Reserved r = reserved.remove(session);
    if (r != null) {
      Router.closeQuietly(r.connection());
    }
  }

  /** Releases the reservations not on {@code keep}: after a switch aborted, or before the next one. */
  void discard(Target keep) {
    reserved.entrySet().removeIf(e -> {
      if (e.getValue().side() != keep) {
        Router.closeQuietly(e.getValue().connection());
        return true;
      }
      return false;
    });
  }

  /** Releases every reservation. */
  void closeAll() {
    reserved.values().forEach(r -> Router.closeQuietly(r.connection()));
    reserved.clear();
  }
}
