package dev.cutover.replicator.cli;

import dev.cutover.common.Durations;
import dev.cutover.replicator.Side;
import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;

/** Parsing and printing of durations, sizes and sides; its duration converter serves the sample app's commands too. */
public final class Units {
  private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*(B|kB|KB|MB|GB)?");

  private Units() {}

  /** {@code 250ms}, {@code 5s}, {@code 10m}, {@code 1h}, or milliseconds: as every module reads one ({@link Durations}). */
  public static final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
      try {
        return Durations.parse("duration", value);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.TypeConversionException("'" + value + "' is not a duration: write " + Durations.SYNTAX);
      }
    }
  }

  /** {@code 256MB}, {@code 64kB}, {@code 1GB}, or bytes. */
  static final class SizeConverter implements CommandLine.ITypeConverter<Long> {
    @Override
    public Long convert(String value) {
      Matcher m = SIZE.matcher(value.trim());
      if (!m.matches()) {
        throw new CommandLine.TypeConversionException("'" + value + "' is not a size such as 64kB, 256MB or 1GB");
      }
      long n = Long.parseLong(m.group(1));
      String unit = m.group(2) == null ? "B" : m.group(2);
      return switch (unit) {
        case "kB", "KB" -> n * 1024;
        case "MB" -> n * 1024 * 1024;
        case "GB" -> n * 1024 * 1024 * 1024;
        default -> n;
      };
    }
  }

  /** A bad option value: exit code 2 with the command's usage, like an unknown option. */
  static CommandLine.ParameterException usage(CommandLine command, String message) {
    return new CommandLine.ParameterException(command, message);
  }

  /** The side {@code value} names for {@code option}: old or new, in any case. */
  static Side side(CommandLine command, String option, String value) {
    return switch (value.toLowerCase(Locale.ROOT)) {
      case "old" -> Side.OLD;
      case "new" -> Side.NEW;
      default -> throw new CommandLine.ParameterException(command, option + " must be old or new, not '" + value + "'");
    };
  }

  static void requirePositive(CommandLine command, String option, long value) {
    if (value < 1) {
      throw usage(command, option + " must be at least 1, not " + value);
    }
  }

  static void requireNonNegative(CommandLine command, String option, long value) {
    if (value < 0) {
      throw usage(command, option + " must not be negative, not " + value);
    }
  }

  static void requirePositive(CommandLine command, String option, Duration value) {
    if (value != null && (value.isZero() || value.isNegative())) {
      throw usage(command, option + " must be longer than 0, not " + value.toMillis() + "ms");
    }
  }

  static String bytes(long b) {
    if (b < 1024) {
      return b + " B";
    }
    double v = b;
    String[] units = {"kB", "MB", "GB", "TB"};
    int i = -1;
    while (v >= 1024 && i < units.length - 1) {
      v /= 1024;
      i++;
    }
    return String.format(Locale.ROOT, "%.1f %s", v, units[i]);
  }

  static String count(long n) {
    return String.format(Locale.ROOT, "%,d", n);
  }

  static String millis(long ms) {
    if (ms < 1000) {
      return ms + " ms";
    }
    if (ms < 60_000) {
      return String.format(Locale.ROOT, "%.1f s", ms / 1000.0);
    }
    long s = ms / 1000;
    return s >= 3600 ? String.format(Locale.ROOT, "%dh%02dm", s / 3600, s / 60 % 60)
        : String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
  }

  static String duration(Duration d) {
    return d == null ? "?" : millis(d.toMillis());
  }
}
