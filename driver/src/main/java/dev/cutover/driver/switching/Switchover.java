package dev.cutover.driver.switching;

import dev.cutover.driver.control.Barrier;
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
 * drain, fence, barrier, sequences, release. Any failure before release aborts: the fence is
 * lowered, traffic stays on {@code from} and the event says why. Runs on the router's thread.
 */
final class Switchover {
  private static final Logger LOG = LoggerFactory.getLogger(Switchover.class);
  private static final long DRAIN_POLL_NANOS = 100_000;
  private static final long BACKEND_EXIT_NANOS = TimeUnit.SECONDS.toNanos(5);
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
    LOG.info("cutover {}: switch {} {} -> {} begins", router.getService(), id, from.value(), to.value());
    boolean fenced = false;
    CompletableFuture<List<Connection>> warming = null;
    String reason = "";
    try (Connection source = router.endpoint(from).open(); Connection target = open(to)) {
      // 1. Gate: new transactions wait from here on. Connections were opened before, off the pause.
      gateClosed = System.nanoTime();
      router.closeGate(gate);
      warming = prewarm(router.sessions().size());

      // 2. Drain.
      long t = System.nanoTime();
      rolledBack = drain(source);
      drainNanos = System.nanoTime() - t;

      // 3. Fence (one instance: it is its own leader).
      t = System.nanoTime();
      if (router.control()) {
        fenced = true;
        Fence.raise(source, router.settings().drainTimeout());
      }
      fenceNanos = System.nanoTime() - t;

      // 4. Barrier.
      t = System.nanoTime();
      if (router.control()) {
        String marker = Barrier.write(source);
        Duration timeout = router.settings().barrierTimeout();
        if (!Barrier.await(target, marker, timeout)) {
          throw new Abort("the barrier marker written on " + from.value() + " did not reach " + to.value()
              + " within " + timeout.toMillis() + " ms (cutover.barrier.timeout): is replication running and"
              + " is cutover.barrier published?");
        }
      }
      barrierNanos = System.nanoTime() - t;

      // 5. Sequences.
      t = System.nanoTime();
      Sequences.Result moved = Sequences.advance(source, target, router.settings().sequenceMargin());
      sequencesMoved = moved.moved();
      if (!moved.missing().isEmpty()) {
        LOG.warn("cutover {}: sequences missing on {}: {}", router.getService(), to.value(), moved.missing());
      }
      if (router.control()) {
        Fence.lower(target);
      }
      sequenceNanos = System.nanoTime() - t;

      // 6. Release onto connections opened ahead.
      List<Connection> ready = await(warming);
      prewarmed = ready.size();
      router.release(to, ready);
    } catch (Abort e) {
      reason = e.getMessage();
    } catch (SQLException | RuntimeException e) {
      reason = e.getMessage() == null ? e.toString() : e.getMessage();
      LOG.debug("cutover {}: switch {} failed", router.getService(), id, e);
    }
    if (!reason.isEmpty()) {
      abort(fenced, warming);
    }
    return event(reason);
  }

  private Connection open(Target side) throws SQLException, Abort {
    try {
      return router.endpoint(side).open();
    } catch (SQLException e) {
      throw new Abort("the " + side.value() + " database is unreachable: " + e.getMessage());
    }
  }

  /** Opens, in parallel with the drain and barrier, as many connections to the target as there are sessions. */
  private CompletableFuture<List<Connection>> prewarm(int count) {
    List<CompletableFuture<Connection>> opening = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      opening.add(CompletableFuture.supplyAsync(() -> {
        try {
          return router.endpoint(to).open();
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
    List<Integer> pids = new ArrayList<>();
    for (Session s : router.sessions()) {
      int pid = s.doom(why);
      if (pid > 0) {
        pids.add(pid);
      }
    }
    if (pids.isEmpty()) {
      return 0;
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
            return pids.size();
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

  /** Leaves traffic where it was: lowers the fence if this switch raised it, and opens the gate. */
  private void abort(boolean fenced, CompletableFuture<List<Connection>> warming) {
    if (fenced) {
      try (Connection source = router.endpoint(from).open()) {
        Fence.lower(source);
      } catch (SQLException e) {
        LOG.error("cutover {}: switch {} aborted but the fence on {} could not be lowered: {}; lower it with"
            + " SELECT cutover.lower_fence()", router.getService(), id, from.value(), e.getMessage());
      }
    }
    if (warming != null) {
      warming.thenAccept(list -> list.forEach(Router::closeQuietly));
    }
    router.release(from, List.of());
  }

  private SwitchEvent event(String reason) {
    Histogram waits = gate.waits();
    long total = gateClosed == 0 ? 0 : System.nanoTime() - gateClosed;
    return new SwitchEvent(
        router.getService(), id, from, to,
        reason.isEmpty() ? Outcome.COMPLETED : Outcome.ABORTED, reason,
        waits.getTotalCount(),
        Duration.ofNanos(waits.getTotalCount() == 0 ? 0 : waits.getMaxValue()),
        Duration.ofNanos(waits.getTotalCount() == 0 ? 0 : waits.getValueAtPercentile(99)),
        Duration.ofNanos(drainNanos), Duration.ofNanos(fenceNanos), Duration.ofNanos(barrierNanos),
        Duration.ofNanos(sequenceNanos), Duration.ofNanos(total),
        rolledBack, sequencesMoved, prewarmed, router.notGuaranteed(), Instant.now());
  }
}
