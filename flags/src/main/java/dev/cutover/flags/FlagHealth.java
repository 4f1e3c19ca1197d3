package dev.cutover.flags;

/**
 * Whether a flag source is delivering decisions. Only {@link #VALID} means changes reach us; in
 * the other states the last known target is kept, so an outage never moves traffic by itself.
 */
public enum FlagHealth {
  /** Connected and up to date. */
  VALID,
  /** Temporarily disconnected; the last known value stands and the source is retrying. */
  INTERRUPTED,
  /** Permanently unavailable (bad credentials, closed); the last known or default value stands. */
  OFF
}
