package dev.cutover.driver.switching;

import dev.cutover.driver.control.Barrier;
import dev.cutover.driver.control.Coordination;
import dev.cutover.driver.control.Fence;
import dev.cutover.driver.control.Sequences;
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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One switch of one router from {@code from} to {@code to}, in the order of the design: gate,
 * drain, coordinate, and, on the leader, fence, barrier and sequences; then release. Any failure
 * before release aborts: the leader lowers the fence and publishes the abort, traffic stays on
 * {@code from} and the event says why. Runs on the router's thread.
 *
 * <p>Instances of a service meet in the control schema of {@code from}: all join one switch id,
 * each drains its own transactions and says so, and the leader (an advisory lock) fences only
 * when every live instance has drained, so no instance can begin a transaction on a fenced
 * database. Followers wait for the leader's decision and check the barrier themselves; if the
 * leader's session dies, its lock is free and the next instance to try takes over, repeating the
 * idempotent steps.
 */
final class Switchover {
  private static final Logger LOG = LoggerFactory.getLogger(Switchover.class);
  private static final long DRAIN_POLL_NANOS = 100_000;
  private static final long BACKEND_EXIT_NANOS = TimeUnit.SECONDS.toNanos(5);
  /** How long a live peer may take, beyond the drain timeout, to hear of the switch and drain. */
  private static final long PEER_SLACK_NANOS = TimeUnit.SECONDS.toNanos(3);
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
  private final String id = UUID.randomUUID().toString();
  private final Gate gate = new Gate();

  private long gateClosed;
  private long drainNanos;
  private long coordinateNanos;
  private boolean leader;
  /** Whether this instance raised the source's fence and must lower it if the switch aborts. */
  private boolean fenced;
  /** What the switch is doing, for the reason of an unexpected failure. */
  private String phase = "connecting";
  private long fenceNanos;
  private long barrierNanos;
  private long sequenceNanos;
  private int rolledBack;
  private int sequencesMoved;
  private int prewarmed;

  /** Why the switch cannot go on; its message becomes the event's reason. */
  private static final class Abort extends Exception {
    Abort(String message) {
      super(message, null, false, false);
    }
  }

  Switchover(Router router, Target from, Target to) {
    this.router = router;
    this.from = from;
    this.to = to;
  }

  SwitchEvent run() {
    LOG.info("cutover {}: switch {} {} -> {} begins on instance {}", router.getService(), id, from.value(),
        to.value(), router.instance());
    CompletableFuture<List<Connection>> warming = null;
    String switchId = id;
    String reason = "";
    try (Connection source = router.endpoint(from).open(); Connection target = open(to)) {
      phase = "checking both databases";
      Optional<String> refused = router.check(from, to, source, target);
      if (refused.isPresent()) {
        throw new Abort(refused.get());
      }
      if (router.control()) {
        phase = "probing replication";
        probe(source, target);
        switchId = Coordination.begin(source, router.getService(), id, from, to);
      }
      // Connections to the target are opened while traffic still flows: for a large pool this
      // is the slowest step, and it must not lengthen the pause.
      phase = "opening connections to " + to.value();
      warming = prewarm(router.sessions().size());
      List<Connection> ready = await(warming);
      if (router.control()) {
        phase = "waiting for the other instances to be ready";
        awaitReadyPeers(source, switchId);
      }

      // 1. Gate: new transactions wait from here on.
      phase = "draining";
      gateClosed = System.nanoTime();
      router.closeGate(gate);

      // 2. Drain this instance's transactions.
      long t = System.nanoTime();
      rolledBack = drain(source);
      drainNanos = System.nanoTime() - t;
      phase = "taking the sessions' advisory locks and LISTEN channels on " + to.value();
      router.handover().reserve(source, ready, from, to, handoverNanos());

      // 3-5. Coordinate with the service's other instances; the leader fences, waits for the
      // barrier and moves sequences. Without the control schema this instance acts alone.
      phase = "coordinating";
      if (router.control()) {
        Coordination.drained(source, router.getService(), router.instance(), switchId);
        try {
          coordinate(source, target, switchId);
        } catch (SQLException e) {
          if (!leader || alive(source)) {
            throw e;
          }
          // This instance led and lost its session, and with it the lock: another instance may
          // lead now and raise the fence again. Never touch the fence from here on: follow.
          LOG.warn("cutover {}: switch {}: the leader's session was lost ({}); following whoever leads now",
              router.getService(), switchId, e.getMessage());
          leader = false;
          fenced = false;
          try (Connection again = router.endpoint(from).open(); Connection targetAgain = open(to)) {
            coordinate(again, targetAgain, switchId);
          }
        }
      } else {
        moveSequences(source, target);
      }

      // 6. Release onto connections opened ahead.
      prewarmed = ready.size();
      router.release(to, ready);
    } catch (Abort e) {
      reason = e.getMessage();
    } catch (SQLException | RuntimeException e) {
      reason = "failed while " + phase + ": " + (e.getMessage() == null ? e.toString() : e.getMessage());
      LOG.debug("cutover {}: switch {} failed", router.getService(), id, e);
    }
    if (!reason.isEmpty()) {
      abort(switchId, reason, warming);
    }
    return event(switchId, reason);
  }

  /**
   * Before holding anything: proves that replication from the source delivers to the target, with
   * a marker like the barrier's. A flip back without reverse replication would leave the writes
   * made since the last switch behind, so it is refused here, with the remedy, unless forced.
   */
  private void probe(Connection source, Connection target) throws SQLException, Abort {
    if (router.settings().force()) {
      return;
    }
    Duration timeout = router.settings().barrierTimeout();
    if (!Barrier.await(target, Barrier.write(source), timeout)) {
      throw new Abort("replication from " + from.value() + " to " + to.value() + " is not delivering: a probe"
          + " marker did not arrive within " + timeout.toMillis() + " ms (cutover.barrier.timeout), so the switch"
          + " would lose the writes not yet replicated; " + (to == Target.OLD
              ? "arm reverse replication (cutover-replicator reverse)"
              : "check the subscription (cutover-replicator status)")
          + ", or set cutover.switch.force=true to switch without this guarantee");
    }
  }

  /**
   * Waits for the leader's decision on {@code switchId}, becoming the leader when nobody holds
   * the role (at first, or because the leader's session died).
   */
  private void coordinate(Connection source, Connection target, String switchId)
      throws SQLException, Abort {
    long t = System.nanoTime();
    long deadline = gateClosed + router.gateMaxPauseNanos();
    long pause = FIRST_POLL_NANOS;
    while (true) {
      if (follow(target, switchId, Coordination.decision(source, router.getService()))) {
        coordinateNanos = System.nanoTime() - t;
        return;
      }
      if (Coordination.tryLead(source, router.getService())) {
        try {
          if (!follow(target, switchId, Coordination.decision(source, router.getService()))) {
            leader = true;
            awaitPeers(source, switchId);
            coordinateNanos = System.nanoTime() - t;
            lead(source, target, switchId);
          }
        } finally {
          Coordination.resign(source, router.getService());
        }
        return;
      }
      if (System.nanoTime() - deadline > 0) {
        throw new Abort("no decision from the leader of " + router.getService() + " within "
            + TimeUnit.NANOSECONDS.toMillis(router.gateMaxPauseNanos()) + " ms (cutover.gate.max-pause)");
      }
      LockSupport.parkNanos(pause);
      pause = Math.min(MAX_POLL_NANOS, pause * 2);
    }
  }

  /** The service's latest switch, if it is still {@code switchId} and not aborted; else the abort to end this one with. */
  private static Coordination.Decision stillOn(String switchId, Optional<Coordination.Decision> decision) throws Abort {
    if (decision.isEmpty() || !decision.get().id().equals(switchId)) {
      throw new Abort("switch " + switchId + " was superseded by a later flip");
    }
    if (decision.get().aborted()) {
      throw new Abort(decision.get().reason());
    }
    return decision.get();
  }

  /**
   * Applies a decision already taken on {@code switchId}: released means the barrier marker must
   * be visible here too; aborted ends this instance's switch as well.
   *
   * @return whether a decision was taken
   */
  private boolean follow(Connection target, String switchId, Optional<Coordination.Decision> decision)
      throws SQLException, Abort {
    Coordination.Decision d = stillOn(switchId, decision);
    if (!d.released()) {
      return false;
    }
    long t = System.nanoTime();
    awaitBarrier(target, d.marker());
    barrierNanos = System.nanoTime() - t;
    return true;
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
      stillOn(switchId, Coordination.decision(source, router.getService()));
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
    List<String> waiting;
    while (!(waiting = Coordination.undrained(source, router.getService(), switchId, Router.INSTANCE_TTL)).isEmpty()) {
      if (System.nanoTime() - deadline > 0) {
        throw new Abort("instances " + waiting + " of " + router.getService() + " did not drain within "
            + TimeUnit.NANOSECONDS.toMillis(deadline - gateClosed) + " ms: do they see the flag?");
      }
      LockSupport.parkNanos(pause);
      pause = Math.min(MAX_POLL_NANOS, pause * 2);
    }
  }

  /** As leader, once every instance has drained: fence, barrier, sequences, then publish the release. */
  private void lead(Connection source, Connection target, String switchId)
      throws SQLException, Abort {
    long t = System.nanoTime();
    phase = "fencing " + from.value();
    fenced = true;
    Fence.raise(source, router.settings().drainTimeout());
    fenceNanos = System.nanoTime() - t;

    t = System.nanoTime();
    phase = "waiting for the barrier";
    String marker = Barrier.write(source);
    if (!router.settings().force()) {
      awaitBarrier(target, marker);
    }
    barrierNanos = System.nanoTime() - t;

    phase = "moving sequences";
    moveSequences(source, target);
    Fence.lower(target);
    phase = "creating the slots requested for the way back";
    Coordination.createSlotsAtSwitch(target);
    Coordination.finish(source, router.getService(), switchId, "released", marker, null);
  }

  /**
   * Whether the source session, which holds the leader's lock, is still there. A failure elsewhere
   * (the target dying, a statement failing) leaves this instance the leader, responsible for the
   * fence it raised.
   */
  private static boolean alive(Connection source) {
    try {
      return source.isValid(2);
    } catch (SQLException e) {
      return false;
    }
  }

  private void awaitBarrier(Connection target, String marker) throws SQLException, Abort {
    Duration timeout = router.settings().barrierTimeout();
    if (!Barrier.await(target, marker, timeout)) {
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

  private Connection open(Target side) throws SQLException, Abort {
    try {
      return router.endpoint(side).open();
    } catch (SQLException e) {
      throw new Abort("the " + side.value() + " database is unreachable: " + e.getMessage());
    }
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
          throw new java.util.concurrent.CompletionException(e);
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
            throw new java.util.concurrent.CompletionException(failure);
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
      throw new Abort("cannot open connections to " + to.value() + ": " + cause.getMessage());
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
   * Leaves traffic where it was: a leader lowers the fence it raised and publishes the abort, so
   * that every instance stays; then this instance opens its gate on the source.
   */
  private void abort(String switchId, String reason, CompletableFuture<List<Connection>> warming) {
    if (leader || fenced) {
      try (Connection source = router.endpoint(from).open()) {
        if (fenced) {
          Fence.lower(source);
        }
        if (router.control()) {
          Coordination.finish(source, router.getService(), switchId, "aborted", null, reason);
        }
      } catch (SQLException e) {
        LOG.error("cutover {}: switch {} aborted but the fence on {} could not be lowered: {}; lower it with"
            + " SELECT cutover.lower_fence()", router.getService(), switchId, from.value(), e.getMessage());
      }
    }
    if (warming != null) {
      warming.thenAccept(list -> list.forEach(Router::closeQuietly));
    }
    router.release(from, List.of());
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
        rolledBack, sequencesMoved, prewarmed, router.notGuaranteed(), Instant.now());
  }
}
