package dev.cutover.common;

import java.sql.SQLException;
import org.postgresql.core.Utils;

/**
 * Quoting for SQL text, libpq connection strings and shell command lines, one implementation for the
 * replicator and the test servers (the driver quotes in place, where a {@code SQLException} is what
 * its callers expect): PgJDBC's escaping for identifiers and literals (with
 * {@code standard_conforming_strings} on, as since PostgreSQL 9.1), libpq's rules for connection
 * string values, POSIX single quotes for a shell word. A NUL, which PostgreSQL cannot hold in a name
 * or a text, is refused without echoing the value: it may be a password.
 */
public final class Quoting {
  private Quoting() {}

  /** A double-quoted identifier ({@code quote_ident} that always quotes): keeps case, allows reserved words. */
  public static String identifier(String name) {
    requireNoNul(name);
    try {
      return Utils.escapeIdentifier(null, name).toString();
    } catch (SQLException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }

  /** A single-quoted string literal. */
  public static String literal(String value) {
    requireNoNul(value);
    try {
      return Utils.escapeLiteral(new StringBuilder("'"), value, true).append('\'').toString();
    } catch (SQLException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }

  /** A value for a libpq connection string: single-quoted, backslashes and quotes escaped. */
  public static String conninfoValue(String value) {
    requireNoNul(value);
    return '\'' + value.replace("\\", "\\\\").replace("'", "\\'") + '\'';
  }

  /**
   * A word for a POSIX shell command line, as a printed remedy shows it to be pasted: as written
   * where it holds only characters no shell treats specially, else single-quoted (a quote in it as
   * {@code '\''}), so that the command receives exactly {@code value}.
   */
  public static String shellWord(String value) {
    requireNoNul(value);
    return !value.isEmpty() && value.matches("[A-Za-z0-9_./=:@%+,-]+") ? value : "'" + value.replace("'", "'\\''") + "'";
  }

  private static void requireNoNul(String value) {
    if (value.indexOf('\0') >= 0) {
      throw new IllegalArgumentException("PostgreSQL names and values cannot contain a NUL character (the value is not shown:"
          + " it may be a secret)");
    }
  }
}
