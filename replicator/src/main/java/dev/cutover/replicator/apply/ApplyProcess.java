package dev.cutover.replicator.apply;

import dev.cutover.common.Poll;
import dev.cutover.common.Threads;
import dev.cutover.replicator.DistinctDatabases;
import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.Failure;
import dev.cutover.replicator.Names;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.replication.MigrationPair;
import dev.cutover.replicator.replication.SwappedSides;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code cutover-replicator apply}: applies every armed direction of trigger-capture replication,
 * and relays forward where {@code start --capture relay} armed it, one {@link Applier} each, and
 * starts the other direction's applier as soon as it is armed
 * (reverse is armed while forward runs), looking every {@value #ARMED_CHECK_SECONDS} seconds.
 * Close it to stop: each applier finishes or rolls back its batch in flight.
 */
public final class ApplyProcess implements AutoCloseable {
  /** How often the foreground run looks whether every applier has stopped. */
  private static final Duration STOPPED_POLL = Duration.ofMillis(200);
  private static final Logger LOG = LoggerFactory.getLogger(ApplyProcess.class);
  private static final int ARMED_CHECK_SECONDS = 1;

  private final Endpoint old;
  private final Endpoint nw;
  private final Names names;
  private final Applier.Options options;
  private final Map<String, Applier> appliers = new LinkedHashMap<>();
  private final ScheduledExecutorService watcher;

  private ApplyProcess(Endpoint old, Endpoint nw, Names names, Applier.Options options) {
    this.old = old;
    this.nw = nw;
    this.names = names;
    this.options = options;
    this.watcher = Threads.scheduler("cutover-apply-watch");
  }

  /**
   * Starts applying every armed direction of the migration {@code names} labels.
   *
   * @throws ReplicatorException {@link Failure#PRECONDITION} when no direction is armed, or old and
   *     new as given are not that migration's two sides ({@link MigrationPair}), before anything is
   *     written
   */
  public static ApplyProcess start(Endpoint old, Endpoint nw, Names names, Applier.Options options) throws Exception {
    ApplyProcess p = new ApplyProcess(old, nw, names, options);
    if (p.startArmed(true) == 0) {
      p.close();
      throw new ReplicatorException(Failure.PRECONDITION, "neither trigger capture nor relayed replication is armed between old and new",
          "run `cutover-replicator start --capture triggers` (or `--capture relay`) first");
    }
    p.watcher.scheduleWithFixedDelay(p::watch, ARMED_CHECK_SECONDS, ARMED_CHECK_SECONDS, TimeUnit.SECONDS);
    return p;
  }

  private void watch() {
    try {
      startArmed(false);
    } catch (Exception e) {
      LOG.debug("looking for armed directions failed: {}", e.getMessage());
    }
  }

  /**
   * Starts an applier for each armed direction that has none; returns how many run. The first look
   * refuses one database under two names, and two databases that are not one migration's sides
   * (each applier checks the latter again at each connection); later ones (every second) would only log it.
   */
  private synchronized int startArmed(boolean first) throws Exception {
    try (Connection o = old.connect(); Connection n = nw.connect()) {
      Sql.answerWithin(options.networkTimeout(), o, n);
      if (first) {
        DistinctDatabases.require(o, n);
        SwappedSides.refuse(o, n, names, "apply");
        MigrationPair.requireOnePair(o, n, names, "apply");
      }
      for (Way way : List.of(Way.forward(old, nw), Way.reverse(old, nw))) {
        if (appliers.containsKey(way.name())) {
          continue;
        }
        if (ApplyProgress.armed(way.targetOf(o, n), way.name())) {
          appliers.put(way.name(), Applier.start(way, names, options));
        } else if (way.name().equals(Way.FORWARD) && RelayProgress.armed(n)) {
          appliers.put(way.name(), Applier.relay(way, names, options));
        }
      }
    }
    return appliers.size();
  }

  /** The appliers running or stopped, by direction. */
  public synchronized List<Applier> appliers() {
    return new ArrayList<>(appliers.values());
  }

  /** Waits until every applier has stopped for good (a refusal), or {@code timeout} passed; for the CLI's foreground run. */
  public void await(Duration timeout) throws InterruptedException {
    Poll.every(STOPPED_POLL).within(timeout, () -> appliers().stream().noneMatch(Applier::running));
    if (Thread.interrupted()) {
      throw new InterruptedException("stopped waiting for the appliers");
    }
  }

  @Override
  public void close() {
    watcher.shutdownNow();
    for (Applier a : appliers()) {
      a.close();
    }
  }
}
