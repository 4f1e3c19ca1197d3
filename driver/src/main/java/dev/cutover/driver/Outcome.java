package dev.cutover.driver;

/** How a switch ended. */
public enum Outcome {
  /** Traffic moved to the target. */
  COMPLETED,
  /** Traffic stayed where it was; the event's reason says why. */
  ABORTED
}
