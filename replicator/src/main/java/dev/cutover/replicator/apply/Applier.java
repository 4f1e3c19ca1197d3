package dev.cutover.replicator.apply;

import dev.cutover.replicator.Failure;
import dev.cutover.replicator.Names;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.capture.Ticker;
import dev.cutover.replicator.copy.TriggersOff;
import dev.cutover.replicator.replication.MigrationPair;
import dev.cutover.replicator.sql.LockHolders;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies one {@link Way} continuously on its own thread, batch after batch from its {@link Feed}:
 * the source's change log cut at ticks (trigger capture: tick the source, read the batch since
 * the last applied tick, apply it on the target in one transaction that also moves the position,
 * trim the source's log, repeat; when a batch is empty, wait {@code poll} first, and when it
 * reached the source's present, start the next one {@code batchEvery} after it started), or a
 * logical replication slot on the source ({@link SlotFeed}).
 *
 * <p>Design notes. Holds two connections and nothing else: new never connects to old. Only one
 * applier per way may run: it holds a session advisory lock on the target (released by the
 * server when its connection ends, also after kill -9), and a second one waits for it. Every
 * failure that is not a refusal (a lost connection, a server restart, a statement that fails)
 * rolls the batch back, closes both connections and starts over from the position on the target
 * after a pause that grows to {@link #MAX_BACKOFF} (and starts short again once a batch went
 * through, {@link Backoff}): a batch is applied whole or not at all, and
 * never twice. An empty batch moves the position only every {@code idleWrite}, so an idle
 * cutover does not write on the target at every poll.
 *
 * <p>Why pace: an applier that keeps up would otherwise apply tiny batches back to back, each
 * costing a snapshot read and a log read on the source and a commit with a position write on the
 * target, and on the source they compete with the application's writers. Waiting
 * {@code batchEvery} gathers the same changes into fewer, larger batches; lag stays bounded by
 * about {@code batchEvery} plus the time to apply one. A backlog (a batch cut at a recorded tick)
 * is never paced, so pacing cannot make apply fall further behind. Off by default: a switch's
 * barrier arrives through the same batches, and pacing would lengthen its wait inside the gate.
 */
public final class Applier implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Applier.class);
  /** Advisory lock class ("cut3") of appliers; the object id is 1 for forward, 2 for reverse. */
  static final int LOCK_CLASS = dev.cutover.driver.internal.control.ControlSql.APPLY_LOCK;
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(10);

  /**
   * How an applier runs.
   *
   * @param poll wait after an empty batch
   * @param batchEvery the least time from the start of a batch that reached the source's present
   *     to the start of the next (0: as soon as possible)
   * @param idleWrite how often an empty batch is written anyway (position and lag stay fresh)
   * @param trimEvery how often the source's log is trimmed
   * @param rotateAfter how long the capture writes into one log table before it rotates
   * @param lockWait how long to wait for another applier of the same way to let go
   * @param batchSpan how much of the source's time one batch covers at most when apply is behind
   *     (cut at the ticks a {@link Ticker} records)
   * @param tickEvery how often the applier's ticker records a tick on the source
   * @param networkTimeout how long a statement may wait for an answer before its connection is
   *     given up as silent (a peer gone without a reset) and applying starts over from the target's
   *     position; not applied to a schema change replayed on the target, which may take long
   */
  public record Options(Duration poll, Duration batchEvery, Duration idleWrite, Duration trimEvery, Duration rotateAfter, Duration lockWait,
      Duration batchSpan, Duration tickEvery, Duration networkTimeout) {
    public Options {
      if (networkTimeout.toMillis() < 1) {
        throw new IllegalArgumentException("the network timeout must be at least 1ms, not " + networkTimeout.toMillis() + "ms");
      }
      for (Duration d : new Duration[] {poll, batchEvery, idleWrite, trimEvery, rotateAfter, lockWait, batchSpan}) {
        if (d.isNegative()) {
          throw new IllegalArgumentException("apply durations must not be negative, not " + d);
        }
      }
      if (tickEvery.toMillis() < 10) {
        throw new IllegalArgumentException("ticks must be at least 10ms apart, not " + tickEvery.toMillis() + "ms");
      }
    }

    public static Options defaults() {
      return new Options(Duration.ofMillis(10), Duration.ZERO, Duration.ofMillis(200), Duration.ofSeconds(1), Duration.ofSeconds(10),
          Duration.ofSeconds(30), Duration.ofMillis(500), Duration.ofMillis(100), Duration.ofSeconds(60));
    }

    public Options withPoll(Duration d) {
      return new Options(d, batchEvery, idleWrite, trimEvery, rotateAfter, lockWait, batchSpan, tickEvery, networkTimeout);
    }

    public Options withLockWait(Duration d) {
      return new Options(poll, batchEvery, idleWrite, trimEvery, rotateAfter, d, batchSpan, tickEvery, networkTimeout);
    }

    public Options withBatchEvery(Duration d) {
      return new Options(poll, d, idleWrite, trimEvery, rotateAfter, lockWait, batchSpan, tickEvery, networkTimeout);
    }

    public Options withNetworkTimeout(Duration d) {
      return new Options(poll, batchEvery, idleWrite, trimEvery, rotateAfter, lockWait, batchSpan, tickEvery, d);
    }

    public Options withTrimming(Duration every, Duration rotate) {
      return new Options(poll, batchEvery, idleWrite, every, rotate, lockWait, batchSpan, tickEvery, networkTimeout);
    }
  }

  private final Way way;
  private final Names names;
  private final Options options;
  private final Feed feed;
  private final Thread thread;
  private final AtomicLong batches = new AtomicLong();
  private final AtomicLong changes = new AtomicLong();
  private final AtomicLong missing = new AtomicLong();
  /** Changes of the batch being written, not yet committed (trigger capture). */
  private final AtomicLong inFlight = new AtomicLong();
  private final AtomicReference<String> lastError = new AtomicReference<>();
  /** Whether a failure is noted on the target ({@link ApplyFailures}), to remove after the next commit (the apply thread's). */
  private boolean failureNoted;
  /** Whether a failure to reach the target is noted on the source ({@link ApplyFailures#recordUnreached}), to remove once it is reached. */
  private boolean unreachedNoted;
  /** Whether this connection holds the way's lock on the target, so that a refusal now is this way's to note ({@link #noteStop}). */
  private boolean locked;
  private final AtomicReference<ReplicatorException> refusal = new AtomicReference<>();
  private final AtomicReference<Throwable> crash = new AtomicReference<>();
  private volatile Instant appliedSourceTime;
  private volatile boolean stopping;
  private volatile Connection source;
  private volatile Connection target;
  /** The position last logged as where applying starts, so that retries from the same one stay quiet. */
  private String announced;
  /**
   * How long a statement may go unanswered now: {@code networkTimeout}, doubled after each time it
   * ran out and back to it after a batch went through, so a statement that is only slow (the first
   * read of a backlog of hours, sorted) gets through within twice its time rather than never.
   */
  private volatile long silenceMillis;
  /** This applier's last session on the target ({@code pid} and {@code backend_start}), to end it if it outlived its connection. */
  private String[] lastTargetSession;

  private Applier(Way way, Names names, Options options, Feed feed) {
    this.way = way;
    this.names = names;
    this.options = options;
    this.feed = feed;
    this.silenceMillis = options.networkTimeout().toMillis();
    this.thread = new Thread(this::run, "cutover-apply-" + way.name());
    thread.setDaemon(true);
  }

  /** Starts applying {@code way}'s trigger-captured changes on a new thread, for the migration labelled as old's database. */
  public static Applier start(Way way, Options options) {
    return start(way, defaultNames(way), options);
  }

  /**
   * Starts applying {@code way}'s trigger-captured changes on a new thread, for the migration
   * {@code names} labels: each connection first checks that old and new are its two sides.
   */
  public static Applier start(Way way, Names names, Options options) {
    return start(way, names, options, new TickFeed());
  }

  /** Starts applying what a logical replication slot on {@code way}'s source decodes, on a new thread (as {@link #start}). */
  public static Applier relay(Way way, Options options) {
    return relay(way, defaultNames(way), options);
  }

  /** Starts applying what a logical replication slot on {@code way}'s source decodes, on a new thread, for {@code names}' migration. */
  public static Applier relay(Way way, Names names, Options options) {
    return start(way, names, options, new SlotFeed());
  }

  /** The names a replicator gives a migration by default ({@link Names#defaultFor}, old's database). */
  private static Names defaultNames(Way way) {
    return Names.defaultFor((way.source().side() == Side.OLD ? way.source() : way.target()).database());
  }

  private static Applier start(Way way, Names names, Options options, Feed feed) {
    Applier a = new Applier(way, names, options, feed);
    a.thread.start();
    return a;
  }

  public Way way() {
    return way;
  }

  /** Batches committed by this applier. */
  public long batches() {
    return batches.get();
  }

  /** Changes applied by this applier. */
  public long changes() {
    return changes.get();
  }

  /**
   * Changes of the batch being written on the target and not yet committed (trigger capture): a
   * batch is one transaction, and {@link #changes} counts it only once it commits.
   */
  public long inFlight() {
    return inFlight.get();
  }

  /** Notes that {@code n} changes of the batch being written have been given to the target (0: none, the batch ended). */
  void writing(long n) {
    inFlight.set(n);
  }

  /** Changes that found no row (counted, as PostgreSQL's own apply skips them). */
  public long missing() {
    return missing.get();
  }

  /** The source's clock at the last tick applied, or null before the first. */
  public Instant appliedSourceTime() {
    return appliedSourceTime;
  }

  /** The last failure, or null since the last batch went through. */
  public String lastError() {
    return lastError.get();
  }

  /** Why the applier stopped for good (the way is not armed, another applier holds it), or null while it runs. */
  public ReplicatorException refusal() {
    return refusal.get();
  }

  /**
   * What ended its thread without its being asked to stop, other than a {@link #refusal}: an Error
   * (such as an OutOfMemoryError), which is not retried; or null while it runs or after it was
   * stopped. The process running it should end, reporting this.
   */
  public Throwable crash() {
    return crash.get();
  }

  /** Whether its thread still runs. */
  public boolean running() {
    return thread.isAlive();
  }

  private void run() {
    Backoff backoff = new Backoff(100, MAX_BACKOFF.toMillis());
    while (!stopping) {
      long before = batches.get();
      try {
        applyUntilStopped();
        if (!stopping) {
          crash.set(new IllegalStateException("its feed returned without being asked to stop"));
        }
        return;
      } catch (ReplicatorException e) {
        if (e.failure() == Failure.PRECONDITION && e.getCause() == null) {
          refusal.set(e);
          LOG.error("{} apply stopped: {}", way.label(), e.oneLine());
          noteStop(e);
          return;
        }
        boolean silent = silent(e);
        fail(silent ? silence() : e.oneLine(), silent);
      } catch (Exception e) {
        boolean silent = silent(e);
        fail(silent ? silence() : Sql.maskSecrets(String.valueOf(e.getMessage())), silent);
      } catch (Throwable e) {
        // An Error (out of heap, a stack overflow): retrying in a process in this state cannot be
        // trusted, and an OutOfMemoryError would only read the same batch again. Kept for the
        // process to report and end on ({@link #crash}); a thread that ended silently left `apply`
        // printing "0 batch(es)" for ever and exiting 0, a healthy process to any supervisor.
        crash.set(e);
        lastError.set(e.getClass().getSimpleName() + ": " + Sql.maskSecrets(String.valueOf(e.getMessage())));
        LOG.error("{} apply stopped: {}", way.label(), lastError.get());
        return;
      } finally {
        closeQuietly();
      }
      if (batches.get() != before) {
        backoff.reset();
      }
      LockSupport.parkNanos(Duration.ofMillis(backoff.next()).toNanos());
    }
  }

  /** Whether a connected statement went unanswered (a failed login has its own timeout and message). */
  private boolean silent(Throwable e) {
    return source != null && target != null && Sql.unanswered(e);
  }

  /**
   * What to say of an unanswered statement: which side (PgJDBC closes a connection whose read timed
   * out) and for how long; the next connection then waits twice as long. A target session that
   * waits for a lock is named with what holds it ({@link #heldOnTarget}).
   */
  private String silence() {
    String side = Sql.givenUp(source) ? way.source().side().label() : Sql.givenUp(target) ? way.target().side().label() : "a database";
    long waited = silenceMillis;
    silenceMillis = Math.min(Integer.MAX_VALUE, waited * 2);
    String givenUp = "connection given up, the next one waits " + silenceMillis + "ms";
    if (Sql.givenUp(target)) {
      Optional<String> held = heldOnTarget("no answer from " + side + " for " + waited + "ms: its batch waits for a lock on " + side
          + " held by %s; " + givenUp);
      if (held.isPresent()) {
        return held.get();
      }
    }
    return "no answer from " + side + " for " + waited + "ms (a silent network, or a statement waiting that long, e.g. for a lock;"
        + " apply --network-timeout): " + givenUp;
  }

  /**
   * Asks the target, in a session of its own, what holds the lock its given-up session waits for
   * (that one still waits on the server until the next connection ends it): a transaction left
   * prepared there (an XA manager's), or a session idle in transaction, holds a row old's writers
   * update for as long as nobody ends it, and every try waits on it again. Where one does, {@code
   * message} with it (%s) is noted there for status and catch-up, as the given-up connection cannot
   * ({@link ApplyFailures}). Asked only after a wait ran out, never per batch.
   *
   * @return the message, or empty where the session waits for no lock or the target does not answer
   */
  private Optional<String> heldOnTarget(String message) {
    String[] session = lastTargetSession;
    if (session == null) {
      return Optional.empty();
    }
    // It only matters if it comes soon: a target behind a silent network answers this no more than the batch.
    try (Connection c = way.target().connectWithin(options.networkTimeout())) {
      Sql.answerWithin(options.networkTimeout(), c);
      String held = LockHolders.blocking(c, Integer.parseInt(session[0]), way.target().side().label());
      if (held.isEmpty()) {
        return Optional.empty();
      }
      String said = message.formatted(held);
      failureNoted = ApplyFailures.record(c, way.name(), said) || failureNoted;
      return Optional.of(said);
    } catch (SQLException | ReplicatorException e) {
      LOG.debug("{} apply: could not ask {} what its session waits for: {}", way.label(), way.target().side().label(), e.getMessage());
      return Optional.empty();
    }
  }

  /**
   * Logs a failed try (once per message) and, where the target still answers, notes it there
   * ({@link ApplyFailures}) for {@code status} and {@code catch-up}: as a source it could not reach
   * where it has no source connection ({@link #connectToNote}), else on the source where the target
   * refused the login.
   */
  private void fail(String message, boolean silent) {
    inFlight.set(0);
    if (stopping) {
      return;
    }
    if (!message.equals(lastError.getAndSet(message))) {
      LOG.warn("{} apply: {}; retrying from the last applied position", way.label(), message);
    }
    if (!silent && target != null && !Sql.givenUp(target) && (source == null
        ? ApplyFailures.recordSourceUnreached(target, way.name(), message) : ApplyFailures.record(target, way.name(), message))) {
      failureNoted = true;
    } else if (target == null && source != null && !Sql.givenUp(source)
        && ApplyFailures.recordUnreached(source, way.name(), message)) {
      // The target refused or did not answer the login: noted where status reads it, so that this
      // retrying apply is not taken for none.
      unreachedNoted = true;
    }
  }

  /**
   * Notes on the target that the apply stopped for good on {@code refusal}, where it held the way
   * there (a refusal of its feed: the source's slot gone, its log trimmed past the position, the
   * source behind it): the retried failure noted before it (the connection reset of a failover) said
   * "it retries and loses nothing" of a way that no longer moves, and every later apply, status,
   * catch-up and the driver's switch refusal read it. A refusal before the lock (another apply holds
   * the way, the wrong pair) is not this way's to note.
   */
  private void noteStop(ReplicatorException refusal) {
    if (locked && target != null && !Sql.givenUp(target)) {
      ApplyFailures.recordStop(target, way.name(), refusal.oneLine());
    }
  }

  /**
   * Refuses the way where an apply noted on the target that it stopped for good ({@link
   * ApplyFailures#recordStop}): the refusal it stopped on may pass again while what it named stays
   * lost (a source that came back behind the position passes the transaction-id check once it has
   * handed out more ids, r31), so nothing resumes the way until cleanup.
   */
  private void requireNotStopped() throws SQLException, ReplicatorException {
    Optional<ApplyFailures.Failed> stopped = ApplyFailures.read(target, way.name()).filter(ApplyFailures.Failed::stopped);
    if (stopped.isPresent()) {
      throw new ReplicatorException(Failure.PRECONDITION, stopped.get().describe(way.target().side().label()),
          "do what that refusal names; no apply carries " + way.label() + " until then");
    }
  }

  private void applyUntilStopped() throws Exception {
    locked = false;
    try {
      source = way.source().connect();
    } catch (ReplicatorException e) {
      connectToNote();
      throw e;
    }
    target = way.target().connectSimpleProtocol();
    Sql.answerWithin(Duration.ofMillis(silenceMillis), source, target);
    // At every connection, not only at the start: a URL (a DNS name, a pooler's route) may lead elsewhere after a reconnect, and
    // another migration's log applied here is lost to it (trimmed) while its changes overwrite this one's rows.
    MigrationPair.requireOnePair(way.source().side() == Side.OLD ? source : target, way.source().side() == Side.OLD ? target : source,
        names, "apply");
    endOwnOrphan(target);
    lastTargetSession = Sql.rows(target, "SELECT pid::text, backend_start::text FROM pg_stat_activity WHERE pid = pg_backend_pid()").get(0);
    lock(target);
    // Before `locked`: the stop is noted already.
    requireNotStopped();
    locked = true;
    if (unreachedNoted) {
      try {
        ApplyFailures.clearUnreached(source, way.name());
        unreachedNoted = false;
      } catch (SQLException e) {
        // It ages out of status within ApplyFailures.RECENT, and applying (the lock) wins over it meanwhile.
        LOG.debug("{} apply: could not remove the note that it could not reach its target: {}", way.label(), e.getMessage());
      }
    }
    // A note left by an apply process that failed and then stopped is removed after this one's first commit.
    failureNoted = failureNoted || ApplyFailures.read(target, way.name()).isPresent();
    TriggersOff mode = TriggersOff.detect(target);
    feed.apply(this, source, target, mode);
  }

  /**
   * Connects the target where the source refused or did not answer the login, only so that {@link
   * #fail} notes it there ({@link ApplyFailures#recordSourceUnreached}): with no connection, nothing
   * was noted and status said no apply ran. A target that cannot be reached either notes nothing.
   */
  private void connectToNote() {
    try {
      target = way.target().connectSimpleProtocol();
      Sql.answerWithin(Duration.ofMillis(silenceMillis), target);
    } catch (ReplicatorException | SQLException e) {
      LOG.debug("{} apply: could not reach {} either to note that it cannot reach {}: {}", way.label(), way.target().side().label(),
          way.source().side().label(), Sql.maskSecrets(String.valueOf(e.getMessage())));
    }
  }

  /** Logs where applying starts, once per position (retries from the same one stay quiet). */
  void announce(String position, TriggersOff mode) {
    if (!position.equals(announced)) {
      LOG.info("{} apply from {} ({} on {})", way.label(), position, mode == TriggersOff.REPLICA_ROLE
          ? "session_replication_role = replica" : "triggers disabled inside each batch", way.target().side().label());
      announced = position;
    }
  }

  /** Counts a committed batch: its changes and those that found no row. */
  void applied(long n, long notFound) {
    if (notFound > 0) {
      missing.addAndGet(notFound);
      LOG.warn("{} apply: {} change(s) found no row on {} (counted in status)", way.label(), notFound, way.target().side().label());
    }
    batches.incrementAndGet();
    changes.addAndGet(n);
    inFlight.set(0);
    lastError.set(null);
    if (failureNoted) {
      failureNoted = false;
      try {
        ApplyFailures.clear(target, way.name());
      } catch (SQLException e) {
        // The note stays until the next failure replaces it; status still shows the apply applying.
        LOG.debug("{} apply: could not remove the note of its earlier failure: {}", way.label(), e.getMessage());
        rollbackQuietly();
      }
    }
    silenceMillis = options.networkTimeout().toMillis();
  }

  /** The source's time up to which everything is applied now (also when nothing needed writing). */
  void reached(Instant sourceTime) {
    appliedSourceTime = sourceTime;
  }

  /**
   * The failure of a replication stream that went silent ({@code what} says how it showed): the next
   * connection waits twice as long, as after an unanswered statement.
   */
  ReplicatorException silentStream(String what) {
    long waited = silenceMillis;
    silenceMillis = Math.min(Integer.MAX_VALUE, waited * 2);
    return new ReplicatorException(Failure.CONNECTION, what + " (a silent network, or a long transaction still being decoded;"
        + " apply --network-timeout): stream given up, the next one waits " + silenceMillis + "ms", "check the network to "
        + way.source().side().label());
  }

  /** Whether {@link #close} was called: a feed ends its loop. */
  boolean stopping() {
    return stopping;
  }

  Options options() {
    return options;
  }

  /** How long a statement may go unanswered now (see {@link #silenceMillis}). */
  long silenceMillis() {
    return silenceMillis;
  }

  /** Waits until {@code deadline} ({@link System#nanoTime()}) or until stopped. */
  void pauseUntil(long deadline) {
    long left;
    while (!stopping && (left = deadline - System.nanoTime()) > 0) {
      LockSupport.parkNanos(left);
    }
  }

  /**
   * Ends this applier's previous session on the target if it still holds the way's lock: a
   * connection given up as silent leaves its server session running (it may be waiting on a lock,
   * or the network may have lost the close) until the server notices, which can take hours, and
   * meanwhile it would keep the lock and its batch's transaction. Only that very session is ended
   * (same pid and start time, holding the lock), never another apply process.
   */
  private void endOwnOrphan(Connection c) throws SQLException {
    String[] last = lastTargetSession;
    if (last != null && Sql.bool(c, "SELECT count(pg_terminate_backend(a.pid)) > 0 FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid"
        + " WHERE a.pid = ?::int AND a.backend_start = ?::timestamptz AND l.locktype = 'advisory' AND l.granted"
        + " AND l.classid = " + LOCK_CLASS + " AND l.objid = " + way.lockKey() + " AND l.objsubid = 2", last[0], last[1])) {
      LOG.info("{} apply: ended its previous session on {} (pid {}), which still held the apply lock after its connection was"
          + " given up", way.label(), way.target().side().label(), last[0]);
    }
  }

  /**
   * Takes the way's lock on the target, waiting up to {@code lockWait} for another applier to let
   * go. A session of a role that cannot be an apply process holding it (any role may take an
   * advisory lock) is refused at once, named: it will not let go as an applier would.
   */
  private void lock(Connection c) throws SQLException, ReplicatorException {
    long deadline = System.nanoTime() + options.lockWait().toNanos();
    while (!Sql.bool(c, "SELECT pg_try_advisory_lock(" + LOCK_CLASS + ", " + way.lockKey() + ")")) {
      String squatter = Sql.string(c, "SELECT 'process ' || l.pid || ' of role ' || coalesce(quote_ident(a.usename::text), 'unknown')"
          + Way.HOLDERS + " AND NOT " + Way.OURS + " LIMIT 1", way.lockKey());
      if (squatter != null) {
        throw new ReplicatorException(Failure.PRECONDITION, way.target().side().label() + ": " + squatter + " holds the apply lock of "
            + way.label() + " (advisory lock " + LOCK_CLASS + ", " + way.lockKey() + ") and is no apply process (its role is no member"
            + " of the control schema's owner)", "end that session (pg_terminate_backend, as a superuser or a member of"
            + " pg_signal_backend), then run apply again");
      }
      if (System.nanoTime() - deadline >= 0 || stopping) {
        throw new ReplicatorException(Failure.PRECONDITION, way.target().side().label() + ": another apply process applies "
            + way.label() + " (it holds its lock)", "stop the other `cutover-replicator apply` first; only one may apply a direction");
      }
      LockSupport.parkNanos(Duration.ofMillis(200).toNanos());
    }
  }

  /** Stops after the batch in flight (which is committed or rolled back whole) and waits for the thread. */
  @Override
  public void close() {
    stopping = true;
    LockSupport.unpark(thread);
    try {
      thread.join(30_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void rollbackQuietly() {
    try {
      target.rollback();
    } catch (SQLException ignored) {
      // A broken connection fails the next batch, which starts over.
    }
  }

  private void closeQuietly() {
    if (target != null) {
      // Released before closing: a closed connection's backend may still hold it for a moment, and
      // cleanup, which refuses while a direction is applied, could see it.
      try {
        Sql.bool(target, "SELECT pg_advisory_unlock(" + LOCK_CLASS + ", " + way.lockKey() + ") IS NOT NULL");
      } catch (SQLException ignored) {
        // A broken connection holds nothing once its backend is gone.
      }
    }
    for (Connection c : new Connection[] {source, target}) {
      if (c != null) {
        try {
          c.close();
        } catch (SQLException ignored) {
          // The connection is going away anyway; the position on the target is what counts.
        }
      }
    }
    source = null;
    target = null;
  }
}
