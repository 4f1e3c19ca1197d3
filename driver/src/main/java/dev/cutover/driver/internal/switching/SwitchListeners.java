package dev.cutover.driver.internal.switching;

import dev.cutover.driver.SwitchEvent;
import dev.cutover.driver.SwitchListener;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The listeners told of every switch of every router in this JVM; one listener's failure never stops the rest. */
public final class SwitchListeners {
  private static final Logger LOG = LoggerFactory.getLogger(SwitchListeners.class);
  private static final List<SwitchListener> LISTENERS = new CopyOnWriteArrayList<>();

  private SwitchListeners() {}

  public static void add(SwitchListener listener) {
    LISTENERS.add(listener);
  }

  public static void remove(SwitchListener listener) {
    LISTENERS.remove(listener);
  }

  /** Tells every listener, on the calling (switch) thread. */
  static void publish(SwitchEvent event) {
    for (SwitchListener listener : LISTENERS) {
      try {
        listener.onSwitch(event);
      } catch (RuntimeException e) {
        LOG.error("cutover: switch listener {} failed", listener, e);
      }
    }
  }
}
