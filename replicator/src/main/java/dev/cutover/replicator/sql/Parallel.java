package dev.cutover.replicator.sql;

import dev.cutover.common.Threads;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Runs items on a fixed number of worker threads, each with a resource of its own (typically one
 * or two connections) opened when the worker starts and closed when it ends. The first failure
 * stops every worker from taking another item and is rethrown; later ones are suppressed into it.
 */
public final class Parallel {
  private Parallel() {}

  /** Opens a worker's resource. */
  @FunctionalInterface
  public interface Opener<R extends AutoCloseable> {
    R open() throws Exception;
  }

  /** Does one item with the worker's resource. */
  @FunctionalInterface
  public interface Task<R, T> {
    void run(R resource, T item) throws Exception;
  }

  /**
   * Runs {@code task} for every item on {@code workers} threads named {@code name-n}, taking
   * items in list order.
   *
   * @throws Exception the first failure of any worker
   */
  public static <R extends AutoCloseable, T> void run(String name, int workers, List<T> items, Opener<R> opener, Task<R, T> task)
      throws Exception {
    if (items.isEmpty()) {
      return;
    }
    Queue<T> queue = new ConcurrentLinkedQueue<>(items);
    AtomicReference<Exception> failure = new AtomicReference<>();
    List<Thread> threads = new ArrayList<>();
    int n = Math.max(1, Math.min(workers, items.size()));
    ThreadFactory factory = Threads.daemon(name);
    for (int w = 0; w < n; w++) {
      Thread t = factory.newThread(() -> {
        try (R resource = opener.open()) {
          T item;
          while (failure.get() == null && (item = queue.poll()) != null) {
            task.run(resource, item);
          }
        } catch (Exception e) {
          if (!failure.compareAndSet(null, e)) {
            failure.get().addSuppressed(e);
          }
        }
      });
      threads.add(t);
      t.start();
    }
    for (Thread t : threads) {
      t.join();
    }
    if (failure.get() != null) {
      throw failure.get();
    }
  }
}
