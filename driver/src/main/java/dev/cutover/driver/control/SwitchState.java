package dev.cutover.driver.control;

import java.util.Locale;

/**
 * Where a switch of a service stands in the control schema of the database that serves: the
 * leader's decision, which every instance follows only once it has verified it.
 */
public enum SwitchState {
  /** In progress: instances drain, the leader fences and waits for the barrier. */
  DRAINING,
  /** The leader released it: the source is fenced and the barrier marker arrived. */
  RELEASED,
  /** Given up: the fence the switch raised is lowered, traffic stays on the source. */
  ABORTED;

  /** As the control schema writes it: {@code draining}, {@code released}, {@code aborted}. */
  public String value() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * The state the control schema wrote.
   *
   * @throws IllegalStateException for a state this driver does not know (a newer control schema)
   */
  public static SwitchState of(String value) {
    for (SwitchState s : values()) {
      if (s.value().equals(value)) {
        return s;
      }
    }
    throw new IllegalStateException("cutover: the control schema reports switch state '" + value + "', which this"
        + " driver does not know; upgrade the driver to the control schema's version");
  }
}
