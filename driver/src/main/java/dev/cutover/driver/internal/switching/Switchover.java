package dev.cutover.driver.internal.switching;

import dev.cutover.driver.Outcome;
import dev.cutover.driver.SwitchEvent;
import dev.cutover.driver.internal.control.Barrier;
import dev.cutover.driver.internal.control.Coordination;
import dev.cutover.driver.internal.control.Fence;
import dev.cutover.driver.internal.control.Sequences;
import dev.cutover.flags.Target;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;
import org.postgresql.PGConnection;
import org.postgresql.util.PSQLException;
import org.postgresql.util.ServerErrorMessage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One switch of one router from {@code from} to {@code to}, in the order of the design: gate,
 * drain, coordinate, and, on the leader, fence, barrier and sequences; then release. Any failure
 * before release aborts: the leader lowers the fence and publishes the abort, traffic stays on
 * {@code from} and the event says why. Runs on the router's thread.
 *
 * <p>Instances of a service meet in the control schema of {@code from}: all join one switch id,
 * each drains its own transactions and says so, and the leader (an advisory lock whose key only
 * the control plane knows) fences only when every live instance has drained, so no instance can
 * begin a transaction on a fenced database. Only an instance whose own flag asks for {@code to}
 * may lead; one that joined because a peer's flag asks only follows. If the leader's session
 * dies, its lock is free and the next instance to try takes over, repeating the idempotent steps.
 *
 * <p>A follower trusts no decision it cannot check: before it moves it verifies on the source that
 * the fence the switch raised still stands and that the released marker was written under it, and
 * on the target that the marker arrived. A release without a real fence and barrier is never
 * followed.
 *
 * <p>Every wait is bounded: the switch's connections carry connect, login and socket timeouts,
 * and a {@link SwitchWatchdog} aborts the connections of a switch that outlives its budget
 * (before the gate closes) or {@code cutover.gate.max-pause} (after), and of a step that outlives
 * its own timeout.
 */
final class Switchover {
  private static final Logger LOG = LoggerFactory.getLogger(Switchover.class);
  private static final long DRAIN_POLL_NANOS = 100_000;
  private static final long BACKEND_EXIT_NANOS = TimeUnit.SECONDS.toNanos(5);
  /** How long a live peer may take, beyond the drain timeout, to hear of the switch and drain. */
  private static final long PEER_SLACK_NANOS = TimeUnit.SECONDS.toNanos(3);
  /** What a step may take beyond its own timeout before the watchdog ends it (a round trip, a busy machine). */
  static final Duration STEP_SLACK = Duration.ofMillis(500);
  /** What an abort may take, at most, between the switch giving up and the gate opening. */
  private static final Duration ABORT_MARGIN = Duration.ofSeconds(1);
  /** SQLState of a step refused because an operator asked to abort the switch (query_canceled). */
  private static final String OPERATOR_ABORT = "57014";
  /** How often an instance that joined on a peer's word checks that some live instance's flag still asks. */
  private static final long ASKING_CHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(250);
  /** How often a leader waiting for the barrier looks for an operator's abort. */
  private static final Duration ABORT_CHECK = Duration.ofMillis(100);
  private static final long FIRST_POLL_NANOS = 200_000;
  private static final long MAX_POLL_NANOS = 5_000_000;
  private static final ExecutorService WARMER = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "cutover-prewarm");
    t.setDaemon(true);
    return t;
  });

  private final Router router;
  private final Target from;
  private final Target to;
  /** The switch of the service this one joins, or {@code null} for a switch of its own. */
  private final String joined;
  /** Whether {@link #joined} was released already and is only followed (caught up with). */
  private final boolean released;
  private final String id = UUID.randomUUID().toString();
  private final Gate gate = new Gate();
  private final SwitchWatchdog watchdog;

  private long gateClosed;
  private long drainNanos;
  private long coordinateNanos;
  private boolean leader;
  /** Whether this instance tried to raise the source's fence, so that an abort must see it lowered. */
  private boolean fenceAttempted;
  /** The backend of the session that holds the leader's lock, to end it if it outlives its connection. */
  private int leaderPid;
  /** Whether this switch goes without the probe and the barrier (the setting, or the operator's). */
  private boolean force;
  private String phase = "connecting";
  private long fenceNanos;
  private long barrierNanos;
  private long sequenceNanos;
  private int rolledBack;
  private int sequencesMoved;
  private int prewarmed;

  /** What PostgreSQL said, without PgJDBC's "ERROR:" and context lines (the hint stays: it holds the remedy). */
  private static String serverMessage(SQLException e) {
    if (e instanceof PSQLException p && p.getServerErrorMessage() != null) {
      ServerErrorMessage m = p.getServerErrorMessage();
      return m.getMessage() + (m.getHint() == null ? "" : " (" + m.getHint() + ")");
    }
    return e.getMessage() == null ? e.toString() : e.getMessage();
  }

  /** The switch to join ended before this instance could: nothing was held or changed. */
  private static final class NothingToJoin extends Exception {
    NothingToJoin() {
      super(null, null, false, false);
    }
  }

  /** Why the switch cannot go on; its message becomes the event's reason. */
  private static final class Abort extends Exception {
    Abort(String message) {
      super(message, null, false, false);
    }
  }

  Switchover(Router router, Target from, Target to) {
    this(router, from, to, null, false);
  }

  /**
   * @param joined a switch of the service from {@code from} to {@code to} that a peer runs: this
   *     instance joins it only while it is in progress (never starting one of its own), or, when
   *     {@code released}, follows its release once verified (it missed it)
   */
  Switchover(Router router, Target from, Target to, String joined, boolean released) {
    this.router = router;
    this.from = from;
    this.to = to;
    this.joined = joined;
    this.released = released;
    this.watchdog = new SwitchWatchdog(router.getService() + "/" + router.instance() + " " + from.value() + " -> "
        + to.value());
  }

  /**
   * Runs the switch to its end.
   *
   * @return how it ended, or {@code null} when the switch it was to join had ended before (nothing
   *     was held or changed)
   */
  SwitchEvent run() {
    LOG.info("cutover {}: switch {} {} -> {} begins on instance {}", router.getService(), joined != null ? joined : id,
        from.value(), to.value(), router.instance());
    CompletableFuture<List<Connection>> warming = null;
    String switchId = joined != null ? joined : id;
    String reason = "";
    Connection source = null;
    Connection target = null;
    boolean done = false;
    Duration budget = preGateBudget();
    watchdog.deadline(budget, () -> "stuck for " + budget.toMillis() + " ms before closing its gate, while " + phase
        + " (no transaction was held); is the network to the " + to.value() + " database silent?");
    try {
      source = openControl(from);
      watchdog.watch(source);
      target = openControl(to);
      watchdog.watch(target);
      phase("checking both databases");
      Optional<String> refused = router.check(from, to, source, target);
      if (refused.isPresent()) {
        throw new Abort(refused.get());
      }
      requireReadableSequences(source);
      if (router.control()) {
        force = router.settings().force() || Coordination.forced(source, router.getService());
        if (joined == null) {
          probe(source, target);
          switchId = Coordination.begin(source, router.getService(), id, from, to);
        } else if (released) {
          Coordination.Verified v = Coordination.verifyRelease(source, router.getService(), joined);
          if (!v.ok()) {
            throw new Abort("the release of switch " + joined + " cannot be followed: " + v.problem());
          }
        } else {
          probe(source, target);
          Optional<Coordination.Decision> d = Coordination.decision(source, router.getService());
          if (d.isEmpty() || !d.get().id().equals(joined) || !"draining".equals(d.get().state())) {
            throw new NothingToJoin();
          }
        }
      }
      // Connections to the target are opened while traffic still flows: for a large pool this
      // is the slowest step, and it must not lengthen the pause.
      phase("opening connections to " + to.value());
      warming = prewarm(router.sessions().size());
      List<Connection> ready = await(warming);
      if (router.control() && !released) {
        phase("waiting for the other instances to be ready");
        awaitReadyPeers(source, switchId);
      }

      // 1. Gate: new transactions wait from here on.
      phase("draining");
      gateClosed = System.nanoTime();
      Duration held = heldAtMost().plus(abortMargin().dividedBy(2));
      watchdog.deadline(held, () -> "not released within " + held.toMillis() + " ms of closing its gate"
          + " (cutover.gate.max-pause less the time to abort), while " + phase);
      router.closeGate(gate);

      // 2. Drain this instance's transactions.
      long t = System.nanoTime();
      rolledBack = drain(source);
      drainNanos = System.nanoTime() - t;
      phase = "taking the sessions' advisory locks and LISTEN channels on " + to.value();
      router.handover().reserve(source, ready, from, to, handoverNanos());

      // 3-5. Coordinate with the service's other instances; the leader fences, waits for the
      // barrier and moves sequences. Without the control schema this instance acts alone.
      phase("coordinating");
      if (router.control()) {
        Coordination.drained(source, router.getService(), router.instance(), switchId);
        source = coordinate(source, target, switchId);
      } else {
        moveSequences(source, target);
      }

      // 6. Release onto connections opened ahead.
      prewarmed = ready.size();
      router.release(to, ready);
      done = true;
    } catch (NothingToJoin e) {
      LOG.info("cutover {}: switch {} ended before instance {} could join it", router.getService(), joined,
          router.instance());
      done = true;
      switchId = null;
    } catch (Abort e) {
      reason = e.getMessage();
    } catch (SQLException e) {
      reason = watchdog.reason() != null ? watchdog.reason()
          : (OPERATOR_ABORT.equals(e.getSQLState()) ? "aborted on request while " : "failed while ") + phase + ": "
              + serverMessage(e);
      LOG.debug("cutover {}: switch {} failed", router.getService(), switchId, e);
    } catch (RuntimeException e) {
      reason = watchdog.reason() != null ? watchdog.reason()
          : "failed while " + phase + ": " + (e.getMessage() == null ? e.toString() : e.getMessage());
      LOG.debug("cutover {}: switch {} failed", router.getService(), switchId, e);
    } finally {
      watchdog.close();
    }
    if (!done) {
      if (reason.isEmpty()) {
        reason = "failed while " + phase;
      }
      abort(source, switchId, reason, warming);
    }
    Router.closeQuietly(source);
    Router.closeQuietly(target);
    router.phase(Router.IDLE);
    return switchId == null ? null : event(switchId, reason);
  }

  private void phase(String now) {
    phase = now;
    router.phase(now);
  }

  /**
   * How long the gate may stay closed before the switch gives up: {@code cutover.gate.max-pause}
   * less a margin to abort in, so that the gate opens before a transaction that arrived at it as it
   * closed has waited the maximum pause (it would get 40001).
   */
  private Duration heldAtMost() {
    return router.settings().gateMaxPause().minus(abortMargin());
  }

  /** {@link #ABORT_MARGIN}, or a quarter of a shorter maximum pause; the watchdog fires half-way into it. */
  private Duration abortMargin() {
    Duration quarter = router.settings().gateMaxPause().dividedBy(4);
    return quarter.compareTo(ABORT_MARGIN) < 0 ? quarter : ABORT_MARGIN;
  }

  /**
   * What the steps before the gate may take at most: two connections, the probe, opening the
   * target's connections and waiting for the peers to be ready, each bounded by its own timeout.
   */
  private Duration preGateBudget() {
    Duration barrier = router.settings().barrierTimeout();
    return barrier.multipliedBy(4).plus(router.settings().drainTimeout()).plus(STEP_SLACK.multipliedBy(4));
  }

  /** A connection for the switch's own statements, with timeouts derived from the switch settings. */
  private Connection openControl(Target side) throws SQLException, Abort {
    phase("connecting to the " + side.value() + " database");
    try {
      return router.endpoint(side).open();
    } catch (SQLException e) {
      throw new Abort("the " + side.value() + " database is unreachable: " + e.getMessage());
    }
  }

  /** Before holding anything: every sequence of the source must be readable, or the switch would not move it (I6). */
  private void requireReadableSequences(Connection source) throws SQLException, Abort {
    phase("checking sequences");
    List<String> hidden = Sequences.unreadable(source);
    if (!hidden.isEmpty()) {
      String user = "\"" + source.getMetaData().getUserName().replace("\"", "\"\"") + "\"";
      throw new Abort("role " + user + " may not read sequence(s) " + String.join(", ", hidden) + " on " + from.value()
          + ", so the switch could not move them on " + to.value() + " and their values would be handed out twice; GRANT"
          + " SELECT ON SEQUENCE " + String.join(", ", hidden) + " TO " + user + " on " + from.value());
    }
  }

  /**
   * Before holding anything: proves that replication from the source delivers to the target, with
   * a probe marker. A flip back without reverse replication would leave the writes made since the
   * last switch behind, so it is refused here, with the remedy, unless forced.
   */
  private void probe(Connection source, Connection target) throws SQLException, Abort {
    if (force) {
      return;
    }
    phase("probing replication");
    Duration timeout = router.settings().barrierTimeout();
    String marker = Barrier.write(source);
    boolean arrived;
    try (SwitchWatchdog.Step step = watchdog.step(timeout.plus(STEP_SLACK), target, () -> "the " + to.value()
        + " database did not answer within " + timeout.plus(STEP_SLACK).toMillis() + " ms while probing replication"
        + " (cutover.barrier.timeout), before the gate closed: is the network to it silent?")) {
      arrived = Barrier.await(target, marker, timeout);
    }
    if (!arrived) {
      throw new Abort("replication from " + from.value() + " to " + to.value() + " is not delivering: a probe"
          + " marker did not arrive within " + timeout.toMillis() + " ms (cutover.barrier.timeout), so the switch"
          + " would lose the writes not yet replicated; " + (to == Target.OLD
              ? "arm reverse replication (cutover-replicator reverse)"
              : "check the subscription (cutover-replicator status)")
          + ", or set cutover.switch.force=true to switch without this guarantee");
    }
  }

  /**
   * Waits for a decision on {@code switchId} it can verify, becoming the leader when nobody holds
   * the role and this instance's own flag asks for the target.
   *
   * @return the source connection to go on with (a new one when the leader's session was lost)
   */
  private Connection coordinate(Connection source, Connection target, String switchId) throws SQLException, Abort {
    long t = System.nanoTime();
    long deadline = gateClosed + heldAtMost().toNanos();
    long pause = FIRST_POLL_NANOS;
    long askedAt = System.nanoTime();
    String distrust = null;
    while (true) {
      if (!mayLead() && System.nanoTime() - askedAt > ASKING_CHECK_NANOS) {
        // Joined because a peer's flag asked: once no live instance's does, there is nothing to wait for.
        if (!Coordination.asking(source, router.getService(), to, Router.INSTANCE_TTL)) {
          throw new Abort("no live instance's flag asks for " + to.value() + " any more; this instance joined the"
              + " switch because a peer's did");
        }
        askedAt = System.nanoTime();
      }
      Coordination.Decision d = stillOn(switchId, Coordination.decision(source, router.getService()), false);
      if (d.released()) {
        Coordination.Verified v = Coordination.verifyRelease(source, router.getService(), switchId);
        if (v.ok()) {
          follow(target, v.marker());
          coordinateNanos = System.nanoTime() - t;
          return source;
        }
        if (!v.problem().equals(distrust)) {
          distrust = v.problem();
          LOG.warn("cutover {}: switch {}: a release was published that this instance cannot verify ({}); not following it",
              router.getService(), switchId, distrust);
        }
      } else if (mayLead() && Coordination.tryLead(source, router.getService(), switchId)) {
        leader = true;
        leaderPid = source.unwrap(PGConnection.class).getBackendPID();
        if (!stillOn(switchId, Coordination.decision(source, router.getService()), true).released()) {
          awaitPeers(source, switchId);
          coordinateNanos = System.nanoTime() - t;
          try {
            lead(source, target, switchId);
            return source;
          } catch (SQLException e) {
            if (alive(source) || watchdog.reason() != null) {
              throw e;
            }
          }
          // This instance led and lost its session, and with it the lock: another instance may
          // lead now and raise the fence again. Never touch the fence from here on: follow.
          LOG.warn("cutover {}: switch {}: the leader's session was lost; following whoever leads now",
              router.getService(), switchId);
          leader = false;
          fenceAttempted = false;
          Router.closeQuietly(source);
          source = openControl(from);
          watchdog.watch(source);
          phase("coordinating");
          continue;
        }
        leader = false;
        Coordination.resign(source, router.getService(), switchId);
      }
      if (System.nanoTime() - deadline > 0) {
        throw new Abort("no decision this instance could verify from the leader of " + router.getService() + " within "
            + heldAtMost().toMillis() + " ms (cutover.gate.max-pause less the time to abort)"
            + (distrust == null ? "" : "; a release was published but " + distrust));
      }
      LockSupport.parkNanos(pause);
      pause = Math.min(MAX_POLL_NANOS, pause * 2);
    }
  }

  /**
   * Whether this instance may lead: its own flag asked for this switch when it began it, or asks
   * now. One that joined because a peer's flag asked only follows, so that control-table data
   * alone (a peer's word) never fences a database.
   */
  private boolean mayLead() {
    return joined == null || router.flagAsks(to);
  }

  /**
   * The service's latest switch, if it is still {@code switchId} and not aborted; else the abort to
   * end this one with. A leader also stops at an operator's request to abort.
   */
  private static Coordination.Decision stillOn(String switchId, Optional<Coordination.Decision> decision,
      boolean leading) throws Abort {
    if (decision.isEmpty() || !decision.get().id().equals(switchId)) {
      throw new Abort("switch " + switchId + " was superseded by a later flip");
    }
    if (decision.get().aborted()) {
      throw new Abort(decision.get().reason());
    }
    if (leading && decision.get().abortRequested() != null) {
      throw new Abort("aborted on request: " + decision.get().abortRequested());
    }
    return decision.get();
  }

  /** Follows a release verified on the source: the marker must be visible on the target too. */
  private void follow(Connection target, String marker) throws SQLException, Abort {
    phase("checking the leader's barrier marker");
    long t = System.nanoTime();
    if (!force) {
      awaitBarrier(target, marker, () -> { });
    }
    barrierNanos = System.nanoTime() - t;
  }

  /**
   * Before closing the gate: marks this instance ready and waits, with traffic still flowing,
   * until every live instance of the service is ready too, so that the gates close together and
   * none holds its transactions while a peer is still opening connections or has not seen the
   * flag yet (four pools of 50 had waited up to 158 ms for the slowest). Bounded by
   * {@code cutover.drain.timeout}; after that the gate closes anyway and the leader's wait for
   * drained peers decides as before.
   */
  private void awaitReadyPeers(Connection source, String switchId) throws SQLException, Abort {
    Coordination.ready(source, router.getService(), router.instance(), switchId);
    Duration timeout = router.settings().drainTimeout();
    long deadline = System.nanoTime() + timeout.toNanos();
    long pause = FIRST_POLL_NANOS;
    List<String> waiting;
    while (!(waiting = Coordination.unready(source, router.getService(), switchId, Router.INSTANCE_TTL)).isEmpty()) {
      stillOn(switchId, Coordination.decision(source, router.getService()), false);
      if (System.nanoTime() - deadline > 0) {
        LOG.info("cutover {}: switch {}: instances {} not ready after {} ms; closing the gate anyway", router.getService(),
            switchId, waiting, timeout.toMillis());
        return;
      }
      LockSupport.parkNanos(pause);
      pause = Math.min(MAX_POLL_NANOS, pause * 2);
    }
  }

  /** As leader: waits until every live instance of the service has drained for this switch. */
  private void awaitPeers(Connection source, String switchId) throws SQLException, Abort {
    long deadline = gateClosed + router.settings().drainTimeout().toNanos() + PEER_SLACK_NANOS;
    long pause = FIRST_POLL_NANOS;
    long checked = System.nanoTime();
    List<String> waiting;
    while (!(waiting = Coordination.undrained(source, router.getService(), switchId, Router.INSTANCE_TTL)).isEmpty()) {
      if (System.nanoTime() - checked > ABORT_CHECK.toNanos()) {
        abortRequested(source, switchId);
        checked = System.nanoTime();
      }
      if (System.nanoTime() - deadline > 0) {
        throw new Abort("instances " + waiting + " of " + router.getService() + " did not drain within "
            + TimeUnit.NANOSECONDS.toMillis(deadline - gateClosed) + " ms: do they see the flag?");
      }
      LockSupport.parkNanos(pause);
      pause = Math.min(MAX_POLL_NANOS, pause * 2);
    }
  }

  /**
   * As leader, once every instance has drained: fence (guarding tables created since the install),
   * barrier, sequences, the target opened (its fence lowered, requested slots created, under the
   * switch's lock there), then the release.
   */
  private void lead(Connection source, Connection target, String switchId) throws SQLException, Abort {
    long t = System.nanoTime();
    phase("fencing " + from.value());
    fenceAttempted = true;
    Duration lockTimeout = router.settings().drainTimeout();
    try (SwitchWatchdog.Step step = watchdog.step(lockTimeout.plus(STEP_SLACK), source, () -> "the " + from.value()
        + " database did not finish raising its fence within " + lockTimeout.plus(STEP_SLACK).toMillis() + " ms")) {
      Fence.raise(source, router.getService(), switchId, router.instance(), lockTimeout);
    } catch (SQLException e) {
      if (watchdog.reason() == null && alive(source)) {
        throw new Abort("cannot fence " + from.value() + ": " + serverMessage(e));
      }
      throw e;
    }
    fenceNanos = System.nanoTime() - t;

    t = System.nanoTime();
    phase("waiting for the barrier");
    String marker = Barrier.writeForSwitch(source, router.getService(), switchId);
    if (!force) {
      awaitBarrier(target, marker, () -> abortRequested(source, switchId));
    }
    barrierNanos = System.nanoTime() - t;

    phase("moving sequences");
    moveSequences(source, target);
    phase("opening " + to.value());
    openTarget(target, switchId);
    phase("releasing");
    Coordination.release(source, router.getService(), switchId, marker, router.instance());
  }

  /**
   * Throws the abort an operator asked for; a source that cannot answer is left to the next step
   * (the release), which needs it too.
   */
  private void abortRequested(Connection source, String switchId) throws Abort {
    try {
      stillOn(switchId, Coordination.decision(source, router.getService()), true);
    } catch (SQLException e) {
      LOG.debug("cutover {}: switch {}: cannot look for an abort request: {}", router.getService(), switchId,
          e.getMessage());
    }
  }

  /** Takes the switch's lock on the target too (waiting for a stale holder, at most the barrier timeout), then opens it. */
  private void openTarget(Connection target, String switchId) throws SQLException, Abort {
    Duration timeout = router.settings().barrierTimeout();
    long deadline = System.nanoTime() + timeout.toNanos();
    long pause = FIRST_POLL_NANOS;
    while (Coordination.openTarget(target, router.getService(), switchId).isEmpty()) {
      if (System.nanoTime() - deadline > 0) {
        throw new Abort("the lock of switch " + switchId + " on " + to.value() + " stayed taken for " + timeout.toMillis()
            + " ms (cutover.barrier.timeout)");
      }
      LockSupport.parkNanos(pause);
      pause = Math.min(MAX_POLL_NANOS, pause * 2);
    }
  }

  /**
   * Whether the source session, which holds the leader's lock, is still there. A failure elsewhere
   * (the target dying, a statement failing) leaves this instance the leader, responsible for the
   * fence it raised.
   */
  private static boolean alive(Connection source) {
    try {
      return source != null && source.isValid(2);
    } catch (SQLException e) {
      return false;
    }
  }

  private <E extends Exception> void awaitBarrier(Connection target, String marker, Barrier.Check<E> stillWanted)
      throws SQLException, Abort, E {
    Duration timeout = router.settings().barrierTimeout();
    boolean arrived;
    try (SwitchWatchdog.Step step = watchdog.step(timeout.plus(STEP_SLACK), target, () -> "the " + to.value()
        + " database did not answer within " + timeout.plus(STEP_SLACK).toMillis() + " ms while the switch waited for"
        + " the barrier marker (cutover.barrier.timeout): is the network to it silent?")) {
      arrived = Barrier.await(target, marker, timeout, stillWanted, ABORT_CHECK);
    }
    if (!arrived) {
      throw new Abort("the barrier marker written on " + from.value() + " did not reach " + to.value()
          + " within " + timeout.toMillis() + " ms (cutover.barrier.timeout): is replication running and"
          + " is cutover.barrier published?");
    }
  }

  private void moveSequences(Connection source, Connection target) throws SQLException {
    long t = System.nanoTime();
    Sequences.Result moved = Sequences.advance(source, target, router.settings().sequenceMargin());
    sequencesMoved = moved.moved();
    if (!moved.missing().isEmpty()) {
      LOG.warn("cutover {}: sequences missing on {}: {}", router.getService(), to.value(), moved.missing());
    }
    sequenceNanos = System.nanoTime() - t;
  }

  /** How long a session may take to give up its transaction, or its channels, to the switch. */
  private long handoverNanos() {
    return Math.min(router.settings().drainTimeout().toNanos(), BACKEND_EXIT_NANOS);
  }

  /** Opens, in parallel with the drain and barrier, as many connections to the target as there are sessions. */
  private CompletableFuture<List<Connection>> prewarm(int count) {
    List<CompletableFuture<Connection>> opening = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      opening.add(CompletableFuture.supplyAsync(() -> {
        try {
          return router.openApp(to);
        } catch (SQLException e) {
          throw new CompletionException(e);
        }
      }, WARMER));
    }
    return CompletableFuture.allOf(opening.toArray(new CompletableFuture<?>[0]))
        .handle((ignored, failure) -> {
          List<Connection> ready = new ArrayList<>(count);
          for (CompletableFuture<Connection> f : opening) {
            if (!f.isCompletedExceptionally()) {
              ready.add(f.join());
            }
          }
          if (failure != null) {
            ready.forEach(Router::closeQuietly);
            throw new CompletionException(failure);
          }
          return ready;
        });
  }

  private List<Connection> await(CompletableFuture<List<Connection>> warming) throws Abort {
    try {
      return warming.get(router.settings().barrierTimeout().toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException | TimeoutException e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      while (cause.getCause() != null && !(cause instanceof SQLException)) {
        cause = cause.getCause();
      }
      throw new Abort("cannot open connections to " + to.value() + ": " + (e instanceof TimeoutException
          ? "none answered within " + router.settings().barrierTimeout().toMillis() + " ms (cutover.barrier.timeout)"
          : cause.getMessage()));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Abort("interrupted while opening connections to " + to.value());
    }
  }

  /**
   * Waits until no session has a transaction in flight; after the drain timeout, rolls back the
   * stragglers and waits until their server processes are gone, so none can still commit.
   */
  private int drain(Connection source) throws SQLException, Abort {
    long timeout = router.settings().drainTimeout().toNanos();
    long deadline = gateClosed + timeout;
    while (anyBusy()) {
      if (System.nanoTime() - deadline > 0) {
        return rollBackStragglers(source, timeout);
      }
      LockSupport.parkNanos(DRAIN_POLL_NANOS);
    }
    return 0;
  }

  private boolean anyBusy() {
    for (Session s : router.sessions()) {
      if (s.activity() == Session.BUSY) {
        return true;
      }
    }
    return false;
  }

  private int rollBackStragglers(Connection source, long timeoutNanos) throws SQLException, Abort {
    String why = "cutover: transaction rolled back: it was still open "
        + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms after the switch from " + from.value() + " to "
        + to.value() + " began (cutover.drain.timeout); retry it";
    Handover.RolledBack rolled = router.handover().rollBack(why, handoverNanos());
    List<Integer> pids = rolled.pids();
    if (pids.isEmpty()) {
      return rolled.count();
    }
    Array array = source.createArrayOf("int4", pids.toArray());
    try (PreparedStatement kill = source.prepareStatement("SELECT pg_terminate_backend(p) FROM unnest(?) p");
        PreparedStatement alive = source.prepareStatement(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(?)")) {
      kill.setArray(1, array);
      kill.execute();
      alive.setArray(1, array);
      long deadline = System.nanoTime() + BACKEND_EXIT_NANOS;
      while (true) {
        try (ResultSet rs = alive.executeQuery()) {
          rs.next();
          if (rs.getInt(1) == 0) {
            return rolled.count();
          }
        }
        if (System.nanoTime() - deadline > 0) {
          throw new Abort("rolled-back transactions on " + from.value() + " (backends " + pids
              + ") did not end within 5 s");
        }
        LockSupport.parkNanos(DRAIN_POLL_NANOS * 10);
      }
    }
  }

  /**
   * Leaves traffic where it was. An instance that led (or that gives up on a switch nobody leads
   * any more) ends the switch in the control schema, which lowers the fence the switch raised
   * unless it was released meanwhile; then this instance opens its gate on the source.
   */
  private void abort(Connection source, String switchId, String reason, CompletableFuture<List<Connection>> warming) {
    if (router.control() && (leader || fenceAttempted || gateClosed != 0)) {
      end(source, switchId, reason);
    }
    if (warming != null) {
      warming.thenAccept(list -> list.forEach(Router::closeQuietly));
    }
    router.release(from, List.of());
  }

  /**
   * Ends {@code switchId} in the control schema of the source: through the switch's own
   * connection when it still works, else through a fresh one, after ending this instance's earlier
   * session (a silent network can keep it, and the lock it holds, alive on the server). The server
   * refuses while another instance leads the switch: that instance decides.
   */
  private void end(Connection source, String switchId, String reason) {
    try {
      if (alive(source)) {
        try {
          end(source, switchId, reason, false);
          return;
        } catch (SQLException e) {
          if (e.getSQLState() == null || !e.getSQLState().startsWith("08")) {
            throw e;
          }
        }
      }
      try (Connection c = router.endpoint(from).open()) {
        end(c, switchId, reason, true);
      }
    } catch (SQLException e) {
      if (leader || fenceAttempted) {
        LOG.error("cutover {}: switch {} aborted but the fence on {} could not be lowered: {}; lower it as the installer"
            + " with SELECT cutover.lower_fence()", router.getService(), switchId, from.value(), e.getMessage());
      } else {
        LOG.debug("cutover {}: switch {}: not ended here: {}", router.getService(), switchId, e.getMessage());
      }
    }
  }

  private void end(Connection c, String switchId, String reason, boolean fresh) throws SQLException {
    if (fresh) {
      if (leaderPid > 0) {
        endSession(c, leaderPid);
      }
      Coordination.tryLead(c, router.getService(), switchId);
    }
    if (!Coordination.abort(c, router.getService(), switchId, reason)) {
      LOG.error("cutover {}: switch {} was released although this instance gave up on it ({}); it stays on {}"
          + " until it catches up with the release", router.getService(), switchId, reason, from.value());
    }
  }

  /** Terminates this instance's own earlier backend and waits (briefly) until it is gone. */
  private static void endSession(Connection c, int pid) throws SQLException {
    try (PreparedStatement kill = c.prepareStatement("SELECT pg_terminate_backend(?)");
        PreparedStatement gone = c.prepareStatement("SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = ?)")) {
      kill.setInt(1, pid);
      kill.execute();
      gone.setInt(1, pid);
      long deadline = System.nanoTime() + BACKEND_EXIT_NANOS;
      while (System.nanoTime() - deadline < 0) {
        try (ResultSet rs = gone.executeQuery()) {
          rs.next();
          if (rs.getBoolean(1)) {
            return;
          }
        }
        LockSupport.parkNanos(DRAIN_POLL_NANOS * 10);
      }
    }
  }

  private SwitchEvent event(String switchId, String reason) {
    Histogram waits = gate.waits();
    long total = gateClosed == 0 ? 0 : System.nanoTime() - gateClosed;
    return new SwitchEvent(
        router.getService(), router.instance(), switchId, from, to,
        reason.isEmpty() ? Outcome.COMPLETED : Outcome.ABORTED, reason, leader,
        waits.getTotalCount(),
        Duration.ofNanos(waits.getTotalCount() == 0 ? 0 : waits.getMaxValue()),
        Duration.ofNanos(waits.getTotalCount() == 0 ? 0 : waits.getValueAtPercentile(99)),
        Duration.ofNanos(drainNanos), Duration.ofNanos(coordinateNanos), Duration.ofNanos(fenceNanos),
        Duration.ofNanos(barrierNanos), Duration.ofNanos(sequenceNanos), Duration.ofNanos(total),
        rolledBack, sequencesMoved, prewarmed, router.notGuaranteed(force), Instant.now());
  }
}
