package dev.cutover.driver;

import dev.cutover.driver.SwitchEvent;
import java.time.Duration;

/** A service's switch events for tests: the next one within 60 s or an assertion error, each printed. */
final class SwitchEvents implements AutoCloseable {
  private final String service;
  private final SwitchEventQueue queue;

  SwitchEvents(String service) {
    this.service = service;
    this.queue = new SwitchEventQueue(service);
  }

  SwitchEvent next() throws InterruptedException {
    SwitchEvent e = queue.next(Duration.ofSeconds(60));
    if (e == null) {
      throw new AssertionError("no switch of " + service + " ended within 60 s");
    }
    System.out.println("[switch] " + e.summary());
    return e;
  }

  @Override
  public void close() {
    queue.close();
  }
}
