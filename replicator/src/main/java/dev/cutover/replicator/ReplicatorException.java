package dev.cutover.replicator;

import java.util.Objects;

/**
 * A replicator operation that could not be done, with what failed, on which side, and what to do
 * about it. The message is one sentence; {@link #remedy()} says how to fix it.
 */
public final class ReplicatorException extends Exception {
  private static final long serialVersionUID = 1L;

  private final Failure failure;
  private final String remedy;

  public ReplicatorException(Failure failure, String message, String remedy) {
    this(failure, message, remedy, null);
  }

  public ReplicatorException(Failure failure, String message, String remedy, Throwable cause) {
    super(message, cause);
    this.failure = Objects.requireNonNull(failure, "failure");
    this.remedy = remedy == null ? "" : remedy;
  }

  /** What kind of failure this is; gives the CLI's exit code. */
  public Failure failure() {
    return failure;
  }

  /** What to do about it, or an empty string. */
  public String remedy() {
    return remedy;
  }

  /** The message followed by the remedy, on one line. */
  public String oneLine() {
    String text = getMessage() + (remedy.isEmpty() ? "" : "; " + remedy);
    return text.replace('\n', ' ');
  }
}
