package dev.cutover.driver.internal.switching;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * Holds transactions that want to begin while a switch runs. Each wait is measured from arrival
 * to the moment the gate opens, so the figures are complete as soon as the switch releases,
 * before the woken threads have run.
 */
public final class Gate {
  private final CountDownLatch opened = new CountDownLatch(1);
  private final ConcurrentLinkedQueue<Long> arrivals = new ConcurrentLinkedQueue<>();
  private volatile long openedAt;

  /**
   * Waits until the gate opens.
   *
   * @return whether it opened within {@code timeoutNanos}
   */
  public boolean await(long timeoutNanos) throws InterruptedException {
    arrivals.add(System.nanoTime());
    return opened.await(timeoutNanos, TimeUnit.NANOSECONDS);
  }

  void open() {
    openedAt = System.nanoTime();
    opened.countDown();
  }

  /** The waits of every transaction that arrived before the gate opened. */
  Histogram waits() {
    Histogram h = new Histogram(3);
    long end = openedAt != 0 ? openedAt : System.nanoTime();
    for (long arrival : arrivals) {
      h.recordValue(Math.max(1, end - arrival));
    }
    return h;
  }
}
