package dev.cutover.replicator.apply;

/**
 * The pause before an applier's next try: from {@code first}, doubled after each failed try up to
 * {@code max}, and from {@code first} again once a batch went through. Why the reset: an apply that
 * runs for weeks meets a failure now and then (a restart, a network blip), and without it every
 * such failure after the first few would pause the longest, lengthening lag for nothing.
 */
final class Backoff {
  private final long firstMillis;
  private final long maxMillis;
  private long nextMillis;

  Backoff(long firstMillis, long maxMillis) {
    this.firstMillis = firstMillis;
    this.maxMillis = maxMillis;
    this.nextMillis = firstMillis;
  }

  /** The pause before the next try, after a failure; the one after it is twice as long, up to the most. */
  long next() {
    long pause = nextMillis;
    nextMillis = Math.min(maxMillis, nextMillis * 2);
    return pause;
  }

  /** A batch went through: the next failure pauses the shortest again. */
  void reset() {
    nextMillis = firstMillis;
  }
}
