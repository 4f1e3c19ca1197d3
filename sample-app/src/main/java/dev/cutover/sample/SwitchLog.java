package dev.cutover.sample;

import dev.cutover.driver.CutoverDriver;
import dev.cutover.driver.switching.SwitchEvent;
import dev.cutover.driver.switching.SwitchListener;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** The switch events of one service, as its instances' drivers report them. */
final class SwitchLog implements SwitchListener, AutoCloseable {
  private final String service;
  private final LinkedBlockingQueue<SwitchEvent> events = new LinkedBlockingQueue<>();

  SwitchLog(String service) {
    this.service = service;
    CutoverDriver.addSwitchListener(this);
  }

  /** Called on a switch thread: only queues the event. */
  @Override
  public void onSwitch(SwitchEvent event) {
    if (event.service().equals(service)) {
      events.add(event);
    }
  }

  /** Waits for the next {@code count} events, up to {@code timeout}; returns fewer if time runs out. */
  List<SwitchEvent> next(int count, Duration timeout) throws InterruptedException {
    List<SwitchEvent> next = new ArrayList<>(count);
    long deadline = System.nanoTime() + timeout.toNanos();
    while (next.size() < count) {
      SwitchEvent event = events.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      if (event == null) {
        break;
      }
      next.add(event);
    }
    return next;
  }

  @Override
  public void close() {
    CutoverDriver.removeSwitchListener(this);
  }
}
