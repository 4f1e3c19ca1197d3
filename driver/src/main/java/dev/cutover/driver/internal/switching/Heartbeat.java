package dev.cutover.driver.internal.switching;

import dev.cutover.common.Threads;
import dev.cutover.driver.internal.control.Coordination;
import dev.cutover.flags.Target;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This instance's heartbeat in the control schema of the database that serves: once a second it
 * says that it is alive, what its flag asks for, which side it serves and its switch's phase, and
 * it learns of switches its peers began, which it hands to the {@link FlagFollower}. It runs on a
 * thread and a connection of its own, so that it goes on during a switch. Started when the control
 * schema is found: at start on the database that serves, even if the other does not answer (else
 * peers' switches would neither drain nor tell this instance, and cleanup would not see it), or at
 * the first switch after the replicator installed it.
 *
 * <p>Concurrency: every field but {@link #started} belongs to the heartbeat thread.
 */
final class Heartbeat {
  private static final Logger LOG = LoggerFactory.getLogger(Heartbeat.class);
  static final Duration EVERY = Duration.ofSeconds(1);
  /** An instance whose heartbeat is older than this no longer holds a switch back (it is fenced out). */
  static final Duration INSTANCE_TTL = Duration.ofSeconds(5);

  private final Router router;
  private final FlagFollower follower;
  private final ScheduledExecutorService thread;
  private final AtomicBoolean started = new AtomicBoolean();
  private Connection beat;
  private Target beatSide;
  /** Whether the last beat failed, so that an outage is logged once. */
  private boolean failing;

  Heartbeat(Router router, FlagFollower follower, String threadName) {
    this.router = router;
    this.follower = follower;
    this.thread = Threads.scheduler(threadName);
  }

  /** Beats once now, on the caller's thread (before the router serves), then every second. */
  void startNow() {
    if (started.compareAndSet(false, true)) {
      beat();
      thread.scheduleWithFixedDelay(this::beat, EVERY.toMillis(), EVERY.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  /** Whether it beats (it started): the database that serves has the control schema. */
  boolean started() {
    return started.get();
  }

  /** Starts beating on its own thread, unless it beats already. */
  void start() {
    if (started.compareAndSet(false, true)) {
      thread.scheduleWithFixedDelay(this::beat, 0, EVERY.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  private void beat() {
    Target side = router.route().serving();
    try {
      if (beat == null || beatSide != side) {
        leave(beat);
        Router.closeQuietly(beat);
        beat = null;
        beat = router.endpoint(side).open();
        beatSide = side;
      }
      Optional<Coordination.Running> running = Coordination.heartbeat(beat, router.service(), router.member(),
          new Coordination.Beat(follower.delivered(), side, router.phase()), INSTANCE_TTL);
      running.ifPresent(r -> follower.heard(r, side));
      if (failing) {
        failing = false;
        LOG.info("cutover {}: heartbeat of instance {} on the {} database works again", router.service(),
            router.member(), side.value());
      }
    } catch (SQLException | RuntimeException e) {
      if (!failing) {
        failing = true;
        LOG.warn("cutover {}: heartbeat of instance {} on the {} database failed: {}; retrying every second",
            router.service(), router.member(), side.value(), e.getMessage());
      }
      Router.closeQuietly(beat);
      beat = null;
    }
  }

  /**
   * Leaves the control schema of the side this instance no longer serves, after a switch: its row
   * there would otherwise stay behind until it aged out, and cleanup takes a recent row for a
   * running instance (a switch needs it no more: the instance released, as its leader had).
   */
  private void leave(Connection left) {
    if (left == null) {
      return;
    }
    try {
      Coordination.leave(left, router.service(), router.member());
    } catch (SQLException e) {
      LOG.debug("cutover {}: could not leave the {} database's control schema as instance {}: {}", router.service(),
          beatSide.value(), router.member(), e.getMessage());
    }
  }

  /** Stops beating and leaves the control schema, so that peers need not wait for this instance's heartbeat to age. */
  void close() {
    thread.shutdownNow();
    try {
      if (thread.awaitTermination(5, TimeUnit.SECONDS) && beat != null) {
        Coordination.leave(beat, router.service(), router.member());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (SQLException e) {
      LOG.debug("cutover {}: could not deregister instance {}: {}", router.service(), router.member(),
          e.getMessage());
    }
    Router.closeQuietly(beat);
  }
}
