package dev.cutover.flags;

import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Listener bookkeeping shared by the flag sources; one listener's failure never stops the rest. */
final class Listeners {
  private static final Logger LOG = LoggerFactory.getLogger(Listeners.class);

  private final CopyOnWriteArrayList<FlagListener> listeners = new CopyOnWriteArrayList<>();

  void add(FlagListener listener) {
    listeners.addIfAbsent(listener);
  }

  void remove(FlagListener listener) {
    listeners.remove(listener);
  }

  void fire(Target target) {
    for (FlagListener listener : listeners) {
      try {
        listener.onTargetChanged(target);
      } catch (RuntimeException e) {
        LOG.error("flag listener {} failed on change to {}", listener, target, e);
      }
    }
  }
}
