package dev.cutover.replicator.verify;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/** Live counters of a verify, safe to poll from another thread while it runs. */
public final class VerifyProgress {
  private final long startedNanos = System.nanoTime();
  private final AtomicInteger tablesDone = new AtomicInteger();
  private final AtomicLong rowsDone = new AtomicLong();
  private volatile int tables;
  private volatile long estimatedRows;

  void planned(int tableCount, long rowEstimate) {
    this.tables = tableCount;
    this.estimatedRows = rowEstimate;
  }

  void tableDone(long rows) {
    rowsDone.addAndGet(rows);
    tablesDone.incrementAndGet();
  }

  /** Tables to compare (replicated and unlogged). */
  public int tables() {
    return tables;
  }

  public int tablesDone() {
    return tablesDone.get();
  }

  /** Source rows of the tables compared so far. */
  public long rowsDone() {
    return rowsDone.get();
  }

  /** The planner's estimate of the replicated tables' rows. */
  public long estimatedRows() {
    return estimatedRows;
  }

  public Duration elapsed() {
    return Duration.ofNanos(System.nanoTime() - startedNanos);
  }
}
