package dev.cutover.driver.internal.jdbc;

/**
 * Recognizes the SQL that begins or ends a transaction ({@code BEGIN}, {@code COMMIT}, ...), so
 * that a session whose transaction a switch rolled back treats them as PostgreSQL treats them in
 * an aborted transaction. Read only on that slow path; allocates nothing.
 */
final class TransactionCommand {
  /** Any other statement, a multi-statement string included. */
  static final int OTHER = 0;
  /** {@code BEGIN} or {@code START TRANSACTION}, with or without modes. */
  static final int BEGIN = 1;
  /** {@code COMMIT} or {@code END} alone (not {@code COMMIT PREPARED}, not {@code AND CHAIN}). */
  static final int COMMIT = 2;
  /** {@code ROLLBACK} or {@code ABORT} alone (not {@code ROLLBACK TO SAVEPOINT}, not {@code ROLLBACK PREPARED}). */
  static final int ROLLBACK = 3;

  private TransactionCommand() {}

  /** One of {@link #OTHER}, {@link #BEGIN}, {@link #COMMIT}, {@link #ROLLBACK}; {@code null} is OTHER. */
  static int of(String sql) {
    if (sql == null) {
      return OTHER;
    }
    int i = skipBlank(sql, 0);
    if (word(sql, i, "BEGIN")) {
      return BEGIN;
    }
    if (word(sql, i, "START")) {
      return word(sql, skipBlank(sql, i + 5), "TRANSACTION") ? BEGIN : OTHER;
    }
    if (word(sql, i, "COMMIT") || word(sql, i, "END")) {
      return alone(sql, i + (word(sql, i, "END") ? 3 : 6)) ? COMMIT : OTHER;
    }
    if (word(sql, i, "ROLLBACK") || word(sql, i, "ABORT")) {
      return alone(sql, i + (word(sql, i, "ABORT") ? 5 : 8)) ? ROLLBACK : OTHER;
    }
    return OTHER;
  }

  /** Whether only {@code WORK} or {@code TRANSACTION}, a semicolon, blanks and comments follow {@code from}. */
  private static boolean alone(String sql, int from) {
    int i = skipBlank(sql, from);
    if (word(sql, i, "WORK")) {
      i = skipBlank(sql, i + 4);
    } else if (word(sql, i, "TRANSACTION")) {
      i = skipBlank(sql, i + 11);
    }
    if (i < sql.length() && sql.charAt(i) == ';') {
      i = skipBlank(sql, i + 1);
    }
    return i == sql.length();
  }

  /** Whether {@code keyword} (upper case) stands at {@code i} as a whole word, in any case. */
  private static boolean word(String sql, int i, String keyword) {
    int end = i + keyword.length();
    return sql.regionMatches(true, i, keyword, 0, keyword.length())
        && (end == sql.length() || !identifierPart(sql.charAt(end)));
  }

  private static boolean identifierPart(char c) {
    return Character.isLetterOrDigit(c) || c == '_' || c == '$';
  }

  /** The index of the first character at or after {@code i} that is neither white space nor in a comment. */
  private static int skipBlank(String sql, int i) {
    int n = sql.length();
    while (i < n) {
      char c = sql.charAt(i);
      if (Character.isWhitespace(c)) {
        i++;
      } else if (c == '-' && i + 1 < n && sql.charAt(i + 1) == '-') {
        int eol = sql.indexOf('\n', i);
        i = eol < 0 ? n : eol + 1;
      } else if (c == '/' && i + 1 < n && sql.charAt(i + 1) == '*') {
        i = blockCommentEnd(sql, i);
      } else {
        return i;
      }
    }
    return n;
  }

  /** Past the block comment that opens at {@code i}; PostgreSQL's block comments nest. */
  private static int blockCommentEnd(String sql, int i) {
    int n = sql.length();
    int depth = 0;
    while (i < n) {
      if (sql.startsWith("/*", i)) {
        depth++;
        i += 2;
      } else if (sql.startsWith("*/", i)) {
        i += 2;
        if (--depth == 0) {
          return i;
        }
      } else {
        i++;
      }
    }
    return n;
  }
}
