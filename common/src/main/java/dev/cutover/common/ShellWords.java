package dev.cutover.common;

import java.util.regex.Pattern;

/**
 * Quoting for the command lines Cutover prints for an operator to paste into a POSIX shell: every
 * value that comes from a database (a table, service or database name) goes through {@link #quote},
 * so that a name holding spaces, quotes, {@code $(…)}, backticks or {@code ;} is one argument and
 * never runs anything.
 */
public final class ShellWords {
  private static final Pattern PLAIN = Pattern.compile("[A-Za-z0-9_./=:@%+,-]+");

  private ShellWords() {}

  /** {@code word} as one shell word: as it is when it holds only harmless characters, else single-quoted. */
  public static String quote(String word) {
    return PLAIN.matcher(word).matches() ? word : "'" + word.replace("'", "'\\''") + "'";
  }
}
