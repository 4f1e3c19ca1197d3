package dev.cutover.replicator.sql;

import dev.cutover.common.Queries;
import dev.cutover.common.Quoting;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Quoting and small query helpers. Every identifier the replicator puts into a statement goes
 * through {@link #ident(String)}, every string literal through {@link #literal(String)}; nothing
 * is concatenated unquoted.
 */
public final class Sql {
  /** A password's key and its {@code =}, with the blanks libpq allows around it; its value is read by {@link #valueEnd}. */
  private static final Pattern CONNINFO_PASSWORD = Pattern.compile("(?i)(?<![a-z_])(?:ssl)?password\\s*=\\s*");
  private static final Pattern USERINFO = Pattern.compile("(//[^/@:\\s]+:)[^/@\\s]*@");

  private Sql() {}

  /** A double-quoted identifier ({@code quote_ident} that always quotes): keeps case, allows reserved words; PgJDBC's escaping. */
  public static String ident(String name) {
    return Quoting.identifier(name);
  }

  /**
   * Lets no statement on {@code connections} wait longer than {@code timeout} for its answer (zero:
   * no limit): an unanswered one fails ({@link #unanswered}) and PgJDBC gives its connection up.
   */
  public static void answerWithin(Duration timeout, Connection... connections) throws SQLException {
    int millis = timeout.isZero() ? 0 : (int) Math.max(1, Math.min(Integer.MAX_VALUE, timeout.toMillis()));
    for (Connection c : connections) {
      c.setNetworkTimeout(Runnable::run, millis);
    }
  }

  /**
   * Runs {@code work} with {@link #answerWithin} on {@code connections}, putting back each one's own
   * limit after, where it is still open.
   */
  public static <T, E extends Exception> T answeringWithin(Duration timeout, ThrowingWork<T, E> work, Connection... connections)
      throws SQLException, E {
    int[] own = new int[connections.length];
    for (int i = 0; i < connections.length; i++) {
      own[i] = connections[i].getNetworkTimeout();
    }
    answerWithin(timeout, connections);
    try {
      return work.run();
    } finally {
      for (int i = 0; i < connections.length; i++) {
        if (!connections[i].isClosed()) {
          connections[i].setNetworkTimeout(Runnable::run, own[i]);
        }
      }
    }
  }

  /**
   * Runs {@code work} with no read limit on {@code c}, putting its own back after: a statement that
   * may rightly run long, watched for a silent network instead ({@code SilenceWatch}).
   */
  public static <T> T withoutReadLimit(Connection c, ThrowingWork<T, SQLException> work) throws SQLException {
    return answeringWithin(Duration.ZERO, work, c);
  }

  /** Work that may fail with {@code E} as well as with SQLException. */
  @FunctionalInterface
  public interface ThrowingWork<T, E extends Exception> {
    T run() throws SQLException, E;
  }

  /**
   * Whether {@code e} comes from a statement left unanswered past its connection's network timeout
   * ({@link #answerWithin}); PgJDBC then closes the connection.
   */
  public static boolean unanswered(Throwable e) {
    return Queries.unanswered(e);
  }

  /**
   * Whether PgJDBC has given {@code c} up (closed), as it does with a connection whose statement went
   * {@link #unanswered}: that names the side that went silent. A connection that cannot say counts.
   */
  public static boolean givenUp(Connection c) {
    try {
      return c != null && c.isClosed();
    } catch (SQLException e) {
      return true;
    }
  }

  /** {@code "schema"."name"}. */
  public static String qualified(String schema, String name) {
    return ident(schema) + '.' + ident(name);
  }

  /** A single-quoted string literal (standard_conforming_strings is on in every supported version); PgJDBC's escaping. */
  public static String literal(String value) {
    return Quoting.literal(value);
  }

  /** A value for a libpq connection string: single-quoted, backslashes and quotes escaped. */
  public static String conninfoValue(String value) {
    return Quoting.conninfoValue(value);
  }

  /**
   * A libpq connection string, or text holding one or a URL, with the value of each
   * {@code password} (and {@code sslpassword}) replaced by {@code ***}. The value is read as libpq
   * reads it: quoted, up to the closing quote that no backslash escapes (to the end of the text
   * where there is none); unquoted, up to the first blank that no backslash escapes, {@code ;} and
   * {@code &} included. After {@code ?}, {@code &} or {@code ;} (a URL's parameter) it runs up to
   * the next {@code &} or blank, as PgJDBC reads it.
   */
  public static String maskConninfo(String conninfo) {
    if (conninfo == null) {
      return null;
    }
    java.util.regex.Matcher key = CONNINFO_PASSWORD.matcher(conninfo);
    StringBuilder masked = null;
    int written = 0;
    while (key.find(written)) {
      int start = key.end();
      boolean urlParameter = key.start() > 0 && "?&;".indexOf(conninfo.charAt(key.start() - 1)) >= 0;
      if (masked == null) {
        masked = new StringBuilder(conninfo.length());
      }
      masked.append(conninfo, written, start).append("***");
      written = valueEnd(conninfo, start, urlParameter);
    }
    return masked == null ? conninfo : masked.append(conninfo, written, conninfo.length()).toString();
  }

  /** Where the value starting at {@code i} ends, by libpq's rules or, for a URL's parameter, PgJDBC's. */
  private static int valueEnd(String text, int i, boolean urlParameter) {
    int n = text.length();
    if (urlParameter) {
      while (i < n && text.charAt(i) != '&' && !Character.isWhitespace(text.charAt(i))) {
        i++;
      }
      return i;
    }
    if (i < n && text.charAt(i) == '\'') {
      for (i++; i < n; i++) {
        char c = text.charAt(i);
        if (c == '\\') {
          i++;
        } else if (c == '\'') {
          return i + 1;
        }
      }
      return n;
    }
    for (; i < n && !Character.isWhitespace(text.charAt(i)); i++) {
      if (text.charAt(i) == '\\') {
        i++;
      }
    }
    return Math.min(i, n);
  }

  /**
   * Text with passwords masked: {@code password=...} as a URL parameter or in a libpq connection
   * string, and {@code user:password@} in URLs. Leaves words such as {@code PGPASSWORD} alone.
   */
  public static String maskSecrets(String text) {
    if (text == null) {
      return null;
    }
    return USERINFO.matcher(maskConninfo(text)).replaceAll("$1***@");
  }

  /** The server's major version ({@code server_version_num} / 10000, e.g. 17). */
  public static int majorVersion(Connection c) throws SQLException {
    return Integer.parseInt(string(c, "SHOW server_version_num")) / 10_000;
  }

  /**
   * The server's major version as the driver learnt it at connect (no round trip), e.g. 9 for 9.6
   * or 17: for catalog queries that differ between versions.
   */
  public static int majorVersionOf(Connection c) throws SQLException {
    return c.getMetaData().getDatabaseMajorVersion();
  }

  public static void execute(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  /** The first column of the first row, or null when there is no row. */
  public static String string(Connection c, String sql, Object... args) throws SQLException {
    try (PreparedStatement ps = prepare(c, sql, args); ResultSet rs = ps.executeQuery()) {
      return rs.next() ? rs.getString(1) : null;
    }
  }

  public static long number(Connection c, String sql, Object... args) throws SQLException {
    try (PreparedStatement ps = prepare(c, sql, args); ResultSet rs = ps.executeQuery()) {
      return rs.next() ? rs.getLong(1) : 0;
    }
  }

  public static boolean bool(Connection c, String sql, Object... args) throws SQLException {
    try (PreparedStatement ps = prepare(c, sql, args); ResultSet rs = ps.executeQuery()) {
      return rs.next() && rs.getBoolean(1);
    }
  }

  /** The first column of every row. */
  public static List<String> strings(Connection c, String sql, Object... args) throws SQLException {
    return Queries.strings(c, sql, args);
  }

  /** Every row, each column as text. */
  public static List<String[]> rows(Connection c, String sql, Object... args) throws SQLException {
    List<String[]> out = new ArrayList<>();
    try (PreparedStatement ps = prepare(c, sql, args); ResultSet rs = ps.executeQuery()) {
      int n = rs.getMetaData().getColumnCount();
      while (rs.next()) {
        String[] row = new String[n];
        for (int i = 0; i < n; i++) {
          row[i] = rs.getString(i + 1);
        }
        out.add(row);
      }
    }
    return out;
  }

  public static PreparedStatement prepare(Connection c, String sql, Object... args) throws SQLException {
    return Queries.prepare(c, sql, args);
  }

  /** Work against the database that may throw {@link SQLException}. */
  @FunctionalInterface
  public interface Work<T> {
    T run() throws SQLException;
  }

  /**
   * Runs {@code work} with {@code search_path = pg_catalog}, restoring the previous path after:
   * names in definitions read meanwhile ({@code pg_get_indexdef}, {@code pg_get_expr}) come out
   * schema-qualified, so they mean the same on the other server whatever its path.
   */
  public static <T> T withCatalogPath(Connection c, Work<T> work) throws SQLException {
    String previous = string(c, "SHOW search_path");
    execute(c, "SET search_path = pg_catalog");
    try {
      return work.run();
    } finally {
      // A connection given up (a statement unanswered) has no path to put back, and its failure is the one to report.
      if (!c.isClosed()) {
        bool(c, "SELECT set_config('search_path', ?, false) IS NOT NULL", previous);
      }
    }
  }

  /** Whether a relation or function exists (e.g. {@code to_regclass('cutover.barrier')}). */
  public static boolean relationExists(Connection c, String qualifiedName) throws SQLException {
    return bool(c, "SELECT to_regclass(?) IS NOT NULL", qualifiedName);
  }

  /** Whether the role may call {@code function} (a signature, such as {@code cutover.fence_raised()}); false where it is missing. */
  public static boolean mayExecute(Connection c, String function) throws SQLException {
    return bool(c, "SELECT coalesce(has_function_privilege(to_regprocedure(?), 'EXECUTE'), false)", function);
  }

  /** Lower-case ASCII, for comparing setting values. */
  public static String lower(String s) {
    return s == null ? null : s.toLowerCase(Locale.ROOT);
  }
}
