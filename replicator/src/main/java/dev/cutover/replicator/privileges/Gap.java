package dev.cutover.replicator.privileges;

import dev.cutover.replicator.Side;

/**
 * A privilege the connected role lacks for a step, and the statement that grants it.
 *
 * @param side where it is missing
 * @param code a stable identifier, e.g. {@code replication-privilege} (also a {@code check} finding's code)
 * @param message what is missing, one sentence without the side
 * @param remedy the exact grant, or what else to do where no grant can give it
 */
public record Gap(Side side, String code, String message, String remedy) {
  /** The message with its side in front, e.g. {@code old: role app may not create replication slots}. */
  public String describe() {
    return side.label() + ": " + message;
  }
}
