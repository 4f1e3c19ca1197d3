package dev.cutover.driver;

import dev.cutover.driver.SwitchEvent;
import dev.cutover.driver.SwitchListener;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * The switch events of one service, as this JVM's routers end them, queued to be awaited: by a
 * rehearsal, a deploy script or a test that flips the flag and waits for the outcome. Registers
 * itself on creation; closing unregisters it.
 */
public final class SwitchEventQueue implements SwitchListener, AutoCloseable {
  private final String service;
  private final LinkedBlockingQueue<SwitchEvent> events = new LinkedBlockingQueue<>();

  public SwitchEventQueue(String service) {
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

  /** The next event, or null if none ends within {@code timeout}. */
  public SwitchEvent next(Duration timeout) throws InterruptedException {
    return events.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
  }

  /**
   * The next event {@code wanted} accepts, passing over the others (such as a retry that the flag's
   * turning back cut short), or null if none ends within {@code timeout}.
   */
  public SwitchEvent next(Predicate<SwitchEvent> wanted, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    SwitchEvent event;
    do {
      event = events.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    } while (event != null && !wanted.test(event));
    return event;
  }

  /** The next {@code count} events, waiting at most {@code timeout} in all; fewer if time runs out. */
  public List<SwitchEvent> next(int count, Duration timeout) throws InterruptedException {
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
