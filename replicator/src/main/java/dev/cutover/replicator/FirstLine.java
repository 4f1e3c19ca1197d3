package dev.cutover.replicator;

/**
 * The first line of an exception's message, for a report of one line: a server's message goes on
 * with its DETAIL, HINT and WHERE lines, and PgJDBC's with a location.
 */
public final class FirstLine {
  private FirstLine() {}

  /** The first line of {@code message}; empty for none. */
  public static String of(String message) {
    return message == null ? "" : message.lines().findFirst().orElse("");
  }

  /** The first line of {@code e}'s message, or {@code e} itself (its class) where it has none. */
  public static String of(Throwable e) {
    return e.getMessage() == null ? e.toString() : of(e.getMessage());
  }
}
