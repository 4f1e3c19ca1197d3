package dev.cutover.flags;

import java.util.Locale;

/** The database that should serve an application's traffic. */
public enum Target {
  OLD,
  NEW;

  /** The other side: what a flip from this target leads to. */
  public Target other() {
    return this == OLD ? NEW : OLD;
  }

  /**
   * Reads a flag value: {@code old}/{@code new} (any case) or the booleans {@code false}/{@code true}
   * (true means new).
   *
   * @throws IllegalArgumentException naming the value when it is none of these
   */
  public static Target parse(String value) {
    if (value != null) {
      switch (value.trim().toLowerCase(Locale.ROOT)) {
        case "old":
        case "false":
          return OLD;
        case "new":
        case "true":
          return NEW;
        default:
          break;
      }
    }
    throw new IllegalArgumentException(
        "flag value '" + value + "' is not a routing target: use old or new (or false / true)");
  }

  /** Lower-case name as written in flags and files. */
  public String value() {
    return this == OLD ? "old" : "new";
  }
}
