package dev.cutover.replicator.check;

/**
 * One result of the preflight.
 *
 * @param severity how much it matters
 * @param side {@code old}, {@code new} or {@code both}
 * @param code a stable identifier, e.g. {@code table-without-key}
 * @param message what was found, one sentence
 * @param remedy what to do, or an empty string for information
 */
public record Finding(Severity severity, String side, String code, String message, String remedy) {

  /** The finding as one line of start's warnings: the message, then the remedy. */
  public String line() {
    return message + "; remedy: " + remedy;
  }

  /** How much a finding matters. */
  public enum Severity {
    /** Blocks the cutover or breaks the application; fix before {@code start}. */
    ERROR,
    /** Works, but something will not be carried or needs a decision. */
    WARNING,
    /** For the record. */
    INFO
  }
}
