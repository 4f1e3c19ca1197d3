package dev.cutover.driver.internal.switching;

import dev.cutover.common.Threads;
import dev.cutover.driver.Outcome;
import dev.cutover.driver.SwitchEvent;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A router's switch thread ({@code cutover-switch-<service>-<n>}): switches run on it one at a time,
 * and so does everything that decides one (flag changes, joins), so that two never overlap. Each
 * switch's event is counted, logged and told to the JVM's listeners here.
 *
 * <p>Concurrency: tasks run on the one thread; the counters and {@link #running} are read by the
 * MXBean and the heartbeat threads.
 */
final class SwitchRunner {
  private static final Logger LOG = LoggerFactory.getLogger(SwitchRunner.class);

  private final String service;
  private final ScheduledExecutorService thread;
  /** Whether a switch runs now: the heartbeat then schedules no join. */
  private volatile boolean running;
  private volatile SwitchEvent last;
  private final AtomicLong completed = new AtomicLong();
  /** Switches that gave up after their gate closed. */
  private final AtomicLong aborted = new AtomicLong();
  /** Switches that ended before their gate closed: apart from {@link #aborted}, as the Micrometer binder tags them. */
  private final AtomicLong refused = new AtomicLong();
  private final AtomicLong rolledBack = new AtomicLong();
  private final AtomicLong gateWaits = new AtomicLong();

  SwitchRunner(String service, String threadName) {
    this.service = service;
    this.thread = Threads.scheduler(threadName);
  }

  /** Runs {@code task} on the switch thread, after what is queued; ignored once the router closed. */
  void execute(Runnable task) {
    try {
      thread.execute(task);
    } catch (RejectedExecutionException closed) {
      LOG.debug("cutover {}: router closed, task ignored", service);
    }
  }

  /** Runs {@code task} on the switch thread after {@code millis}; ignored once the router closed. */
  void schedule(Runnable task, long millis) {
    try {
      thread.schedule(task, millis, TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException closed) {
      LOG.debug("cutover {}: router closed, task ignored", service);
    }
  }

  /** Runs {@code task} on the switch thread and waits for it. */
  void await(Runnable task) throws InterruptedException {
    try {
      thread.submit(task).get();
    } catch (java.util.concurrent.ExecutionException e) {
      LOG.error("cutover {}: the initial switch failed", service, e.getCause());
    }
  }

  boolean running() {
    return running;
  }

  /**
   * Runs a switch to its end (on the switch thread) and publishes its event.
   *
   * @return the event, or {@code null} when there was nothing to join
   */
  SwitchEvent run(Switchover switchover) {
    running = true;
    SwitchEvent event;
    try {
      event = switchover.run();
    } finally {
      running = false;
    }
    if (event != null) {
      publish(event);
    }
    return event;
  }

  private void publish(SwitchEvent event) {
    last = event;
    (event.outcome() == Outcome.COMPLETED ? completed : event.gateClosed() ? aborted : refused).incrementAndGet();
    rolledBack.addAndGet(event.rolledBack());
    gateWaits.addAndGet(event.gateWaits());
    if (event.outcome() == Outcome.COMPLETED && event.notGuaranteed().isEmpty()) {
      LOG.info("cutover: {}", event.summary());
    } else if (event.outcome() == Outcome.COMPLETED) {
      // Completed without a guarantee (forced: no replication proof; no control schema; no way back):
      // writes may be left behind, which an operator must not find only at INFO.
      LOG.warn("cutover: {}", event.summary());
    } else {
      LOG.error("cutover: {}", event.summary());
    }
    SwitchListeners.publish(event);
  }

  SwitchEvent last() {
    return last;
  }

  long completed() {
    return completed.get();
  }

  long aborted() {
    return aborted.get();
  }

  long refused() {
    return refused.get();
  }

  long rolledBack() {
    return rolledBack.get();
  }

  long gateWaits() {
    return gateWaits.get();
  }

  void close() {
    thread.shutdownNow();
  }
}
