package dev.cutover.replicator.capture;

import java.util.Locale;

/** How changes on the source are captured: the two engines of the replicator, or the choice between them. */
public enum Capture {
  /** Logical decoding where the source, the roles and the target allow it, else triggers ({@link EngineChoice}). */
  AUTO,
  /** PostgreSQL's logical replication: publication, slot, a subscription on the target that connects to the source. */
  LOGICAL,
  /** Row triggers into a change log on the source, applied by {@code cutover-replicator apply}; needs only table ownership. */
  TRIGGERS,
  /**
   * Logical decoding as {@link #LOGICAL} (publication and slot on the source), but read by
   * {@code cutover-replicator apply}, which writes into the target: the target needs no route to the source.
   */
  RELAY;

  /** {@code auto}, {@code logical}, {@code triggers} or {@code relay}, as the command line spells it. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * Parses a command-line value.
   *
   * @throws IllegalArgumentException naming the bad value and the choices
   */
  public static Capture parse(String value) {
    for (Capture c : values()) {
      if (c.label().equalsIgnoreCase(value.trim())) {
        return c;
      }
    }
    throw new IllegalArgumentException("--capture must be auto, logical, triggers or relay, not '" + value + "'");
  }
}
