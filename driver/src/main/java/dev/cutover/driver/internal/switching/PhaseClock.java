package dev.cutover.driver.internal.switching;

import dev.cutover.driver.Phase;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;

/** The time one switch spends in each {@link Phase}: entering a phase ends the one before. Switch thread only. */
final class PhaseClock {
  private final Map<Phase, Long> spent = new EnumMap<>(Phase.class);
  private Phase current;
  private long since;

  void enter(Phase phase) {
    long now = System.nanoTime();
    stop(now);
    current = phase;
    since = now;
  }

  /** Ends the phase the switch is in. */
  void stop() {
    stop(System.nanoTime());
  }

  private void stop(long now) {
    if (current != null) {
      spent.merge(current, now - since, Long::sum);
      current = null;
    }
  }

  /** The time spent in each phase entered, in phase order. */
  Map<Phase, Duration> timings() {
    Map<Phase, Duration> out = new EnumMap<>(Phase.class);
    spent.forEach((phase, nanos) -> out.put(phase, Duration.ofNanos(nanos)));
    return out;
  }
}
