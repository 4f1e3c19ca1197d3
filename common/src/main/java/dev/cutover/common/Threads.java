package dev.cutover.common;

import java.time.Duration;
import java.util.Collection;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The one way Cutover makes threads: daemon threads (none of them may keep a JVM alive after the
 * application's own threads end), each named {@code cutover-<role>} so that a thread dump says
 * whose it is; a factory for several numbers them ({@code cutover-handover-3}).
 */
public final class Threads {
  private Threads() {}

  /** A factory of daemon threads named {@code name}, or {@code name-<n>} when it makes more than one. */
  public static ThreadFactory daemon(String name) {
    AtomicInteger made = new AtomicInteger();
    return task -> {
      int n = made.incrementAndGet();
      Thread t = new Thread(task, n == 1 ? name : name + "-" + n);
      t.setDaemon(true);
      return t;
    };
  }

  /** A started daemon thread named {@code name} running {@code task}. */
  public static Thread start(String name, Runnable task) {
    Thread t = daemon(name).newThread(task);
    t.start();
    return t;
  }

  /** One daemon thread named {@code name} that runs tasks in order, at a time or after a delay. */
  public static ScheduledExecutorService scheduler(String name) {
    return Executors.newSingleThreadScheduledExecutor(daemon(name));
  }

  /**
   * Waits for {@code threads} to end, for at most {@code timeout} in all: for stopping workers that
   * were all told to stop at once. An interrupt ends the waiting and stays set on the calling thread.
   *
   * @return whether every thread ended
   */
  public static boolean joinAll(Collection<Thread> threads, Duration timeout) {
    long deadline = Poll.deadline(timeout);
    for (Thread t : threads) {
      try {
        t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
      if (t.isAlive()) {
        return false;
      }
    }
    return true;
  }

  /** Daemon threads named {@code name-<n>}, made as tasks need them and ended after a minute idle. */
  public static ExecutorService pool(String name) {
    return Executors.newCachedThreadPool(daemon(name));
  }
}
