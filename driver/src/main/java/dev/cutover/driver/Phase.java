package dev.cutover.driver;

import dev.cutover.flags.Target;
import java.util.Locale;

/**
 * The steps of a switch, in the order one runs them (docs/driver.md, "What happens when the flag
 * flips"). An instance publishes the step it is in ({@link RouterMXBean#getPhase()}, the control
 * schema's operator view), and every {@link SwitchEvent} carries the time spent in each.
 *
 * <p>Before the gate closes, traffic flows: {@link #CONNECT}, {@link #CHECK}, {@link #PROBE},
 * {@link #PREWARM}, {@link #READY}. From {@link #DRAIN} on, new transactions wait at the gate until
 * {@link #RELEASE} opens it (or the switch aborts). {@link #FENCE} and {@link #SEQUENCES} are the
 * leader's; every instance waits for the {@link #BARRIER}.
 */
public enum Phase {
  /** No switch runs. */
  IDLE("idle"),
  /** Opening the switch's own sessions to both databases. */
  CONNECT("connecting to the %s database"),
  /** Both databases carry the control schema; sessions are real ones (no pooler); sequences are readable. */
  CHECK("checking both databases"),
  /** A probe marker written on the source must arrive on the target: replication delivers. */
  PROBE("probing replication"),
  /** Connections to the target are opened while traffic still flows, one per session. */
  PREWARM("opening connections to %s"),
  /** Waiting, gate still open, until every live instance of the service is ready too. */
  READY("waiting for the other instances to be ready"),
  /** The gate is closed; transactions in flight finish or, after the drain timeout, are rolled back. */
  DRAIN("draining"),
  /** Sessions' advisory locks and LISTEN channels are taken on the target before anyone runs there. */
  HANDOVER("taking the sessions' advisory locks and LISTEN channels on %s"),
  /** The instances meet in the control schema: each says it drained; one leads. */
  COORDINATE("coordinating"),
  /** The leader fences the source: no session of any role can write there any more. */
  FENCE("fencing %s"),
  /** The leader's marker, written on the source after the fence, must arrive on the target. */
  BARRIER("waiting for the barrier"),
  /** The leader moves every sequence on the target past its value on the source. */
  SEQUENCES("moving sequences"),
  /** The target is opened, the release published, sessions rebound and the gate opened. */
  RELEASE("releasing");

  private final String description;

  Phase(String description) {
    this.description = description;
  }

  /**
   * What an instance in this step publishes: {@code fencing old}, {@code probing replication}.
   *
   * @param side the database the step acts on: the one connected to for {@link #CONNECT}, the
   *     source for {@link #FENCE}, the target for {@link #PREWARM} and {@link #HANDOVER}
   */
  public String describe(Target side) {
    return description.contains("%s") ? String.format(Locale.ROOT, description, side.value()) : description;
  }

  /** The name used in metrics tags and the summary: {@code drain}, {@code barrier}. */
  public String tag() {
    return name().toLowerCase(Locale.ROOT);
  }
}
