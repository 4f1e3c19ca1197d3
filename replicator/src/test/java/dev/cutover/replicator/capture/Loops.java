package dev.cutover.replicator.capture;

import java.util.ArrayList;
import java.util.List;

/** Daemon threads of a test's writers, each looping while {@link #running()}; close stops them and waits up to 30 s for each. */
final class Loops implements AutoCloseable {
  private final List<Thread> threads = new ArrayList<>();
  private volatile boolean running = true;

  void start(String name, Runnable loop) {
    Thread t = new Thread(loop, name);
    t.setDaemon(true);
    threads.add(t);
    t.start();
  }

  boolean running() {
    return running;
  }

  @Override
  public void close() {
    running = false;
    for (Thread t : threads) {
      try {
        t.join(30_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
