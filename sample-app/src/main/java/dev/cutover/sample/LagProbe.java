package dev.cutover.sample;

import dev.cutover.common.Threads;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/** Samples replication lag (the replicator's status) into the timeline twice a second, on its own thread. */
final class LagProbe implements AutoCloseable {
  private final Replication replication;
  private final ScheduledExecutorService sampler = Threads.scheduler("rehearsal-lag-probe");

  LagProbe(Replication replication) {
    this.replication = replication;
  }

  void start(Timeline timeline) {
    sampler.scheduleWithFixedDelay(() -> replication.lag().ifPresent(lag -> timeline.lag(System.nanoTime(),
        lag.bytes() == null ? -1 : lag.bytes(), lag.millis() == null ? -1 : lag.millis())), 0, 500, TimeUnit.MILLISECONDS);
  }

  @Override
  public void close() {
    sampler.shutdownNow();
  }
}
