package dev.cutover.common;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one way every Cutover module reads a duration, in settings and on command lines alike: a
 * number with a unit, {@code 250ms}, {@code 5s}, {@code 1.5m}, {@code 1h}, or a bare number of
 * milliseconds ({@code 5000}). A bare number means milliseconds everywhere: in the driver's
 * settings, the flag sources', the replicator's options and the sample application's.
 */
public final class Durations {
  /** What every message about a bad duration says is expected. */
  public static final String SYNTAX = "milliseconds (5000) or a number with a unit (250ms, 5s, 1.5m, 1h)";

  private static final Pattern DURATION = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(ms|s|m|h)?");

  private Durations() {}

  /**
   * Reads {@code value} as a duration.
   *
   * @param name what the value is for (a setting's key, an option), named in the message
   * @throws IllegalArgumentException naming {@code name} and the value when it is not a duration
   *     (negative values included)
   */
  public static Duration parse(String name, String value) {
    Matcher m = DURATION.matcher(value == null ? "" : value.trim().toLowerCase(Locale.ROOT));
    if (!m.matches()) {
      throw new IllegalArgumentException(name + "=" + value + " is not a duration: write " + SYNTAX);
    }
    double amount = Double.parseDouble(m.group(1));
    double millis = switch (m.group(2) == null ? "ms" : m.group(2)) {
      case "h" -> amount * 3_600_000;
      case "m" -> amount * 60_000;
      case "s" -> amount * 1_000;
      default -> amount;
    };
    if (m.group(2) == null && m.group(1).indexOf('.') >= 0) {
      throw new IllegalArgumentException(name + "=" + value + " is not a duration: a bare number is whole"
          + " milliseconds; write " + SYNTAX);
    }
    if (millis > Long.MAX_VALUE / 2) {
      throw new IllegalArgumentException(name + "=" + value + " is too long a duration");
    }
    return Duration.ofMillis(Math.round(millis));
  }

  /** As {@link #parse}, and longer than zero. */
  public static Duration positive(String name, String value) {
    Duration d = parse(name, value);
    if (d.isZero()) {
      throw new IllegalArgumentException(name + "=" + value + " must be a positive duration");
    }
    return d;
  }

  /** How a duration is written back in this syntax: whole seconds or minutes when exact, else milliseconds. */
  public static String format(Duration d) {
    long ms = d.toMillis();
    if (ms != 0 && ms % 60_000 == 0) {
      return ms / 60_000 + "m";
    }
    if (ms != 0 && ms % 1_000 == 0) {
      return ms / 1_000 + "s";
    }
    return ms + "ms";
  }
}
