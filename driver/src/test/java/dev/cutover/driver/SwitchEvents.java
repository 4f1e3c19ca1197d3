package dev.cutover.driver;

import dev.cutover.driver.switching.SwitchEvent;
import dev.cutover.driver.switching.SwitchListener;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** Collects the switch events of one service, to await them in tests. */
final class SwitchEvents implements SwitchListener, AutoCloseable {
  private final String service;
  private final LinkedBlockingQueue<SwitchEvent> events = new LinkedBlockingQueue<>();

  SwitchEvents(String service) {
    this.service = service;
    CutoverDriver.addSwitchListener(this);
  }

  @Override
  public void onSwitch(SwitchEvent event) {
    if (event.service().equals(service)) {
      events.add(event);
    }
  }

  SwitchEvent next() throws InterruptedException {
    SwitchEvent e = events.poll(60, TimeUnit.SECONDS);
    if (e == null) {
      throw new AssertionError("no switch of " + service + " ended within 60 s");
    }
    System.out.println("[switch] " + e.summary());
    return e;
  }

  @Override
  public void close() {
    CutoverDriver.removeSwitchListener(this);
  }
}
