package dev.cutover.replicator;

import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A database named the way its owner wrote it: a PgJDBC URL ({@code jdbc:postgresql://host/db}), a
 * libpq URI ({@code postgres://user:password@host:5432/db?sslmode=require}, as Heroku, RDS and most
 * tools print them) or a libpq key=value string ({@code host=db port=5432 dbname=app user=admin}),
 * turned into a PgJDBC URL and, apart, the user and password it carried. The password never stays
 * in the URL, so masked or not it cannot leak through one; {@link #toString()} shows none.
 */
public record ConnectionString(String jdbcUrl, String user, String password) {
  private static final String JDBC = "jdbc:postgresql:";
  /** libpq parameters whose PgJDBC name differs; the rest (sslmode, sslrootcert, ...) are the same. */
  private static final Map<String, String> RENAMED = Map.of(
      "application_name", "ApplicationName",
      "connect_timeout", "connectTimeout",
      "target_session_attrs", "targetServerType");

  /**
   * Reads any of the three forms.
   *
   * @throws IllegalArgumentException naming the form and what is wrong, never quoting the text: where
   *     it does not parse, no mask can know where its password ends
   */
  public static ConnectionString parse(String text) {
    String s = text.strip();
    if (s.startsWith("jdbc:")) {
      return new ConnectionString(s, null, null);
    }
    String lower = s.toLowerCase(Locale.ROOT);
    if (lower.startsWith("postgres://") || lower.startsWith("postgresql://")) {
      return uri(s);
    }
    if (s.contains("=")) {
      return keyValues(s);
    }
    throw new IllegalArgumentException("the text is neither a PostgreSQL JDBC URL"
        + " (jdbc:postgresql://host:port/db), a URI (postgres://user@host:port/db) nor a key=value string"
        + " (host=... dbname=...)");
  }

  private static ConnectionString uri(String s) {
    String rest = s.substring(s.indexOf("://") + 3);
    String query = "";
    int q = rest.indexOf('?');
    if (q >= 0) {
      query = rest.substring(q + 1);
      rest = rest.substring(0, q);
    }
    String user = null;
    String password = null;
    int at = rest.lastIndexOf('@');
    if (at >= 0) {
      String info = rest.substring(0, at);
      rest = rest.substring(at + 1);
      int colon = info.indexOf(':');
      user = decode(colon < 0 ? info : info.substring(0, colon), "the user");
      password = colon < 0 ? null : decode(info.substring(colon + 1), "the password");
    }
    int slash = rest.indexOf('/');
    String hosts = slash < 0 ? rest : rest.substring(0, slash);
    String database = slash < 0 ? "" : decode(rest.substring(slash + 1), "the database name");
    Map<String, String> params = new LinkedHashMap<>();
    for (String pair : query.split("&")) {
      if (!pair.isEmpty()) {
        int eq = pair.indexOf('=');
        String name = decode(eq < 0 ? pair : pair.substring(0, eq), "a parameter's name");
        params.put(name, eq < 0 ? "" : decode(pair.substring(eq + 1), "the value of parameter " + shown(name)));
      }
    }
    if (params.containsKey("user")) {
      user = params.remove("user");
    }
    if (params.containsKey("password")) {
      password = params.remove("password");
    }
    if (params.containsKey("dbname")) {
      database = params.remove("dbname");
    }
    return new ConnectionString(jdbc(hosts.isEmpty() ? "localhost" : hosts, database, params), user, password);
  }

  private static ConnectionString keyValues(String s) {
    Map<String, String> params = new LinkedHashMap<>();
    String previous = null;
    int i = 0;
    while (i < s.length()) {
      while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
        i++;
      }
      if (i >= s.length()) {
        break;
      }
      int eq = s.indexOf('=', i);
      if (eq < 0) {
        throw new IllegalArgumentException("key=value connection string: the word "
            + (previous == null ? "at its start" : "after the value of " + shown(previous)) + " has no '=' (quote a value"
            + " that holds blanks, key='a value', or escape each blank with a backslash)");
      }
      String key = s.substring(i, eq).strip();
      i = eq + 1;
      while (i < s.length() && s.charAt(i) == ' ') {
        i++;
      }
      StringBuilder value = new StringBuilder();
      if (i < s.length() && s.charAt(i) == '\'') {
        i++;
        while (i < s.length() && s.charAt(i) != '\'') {
          if (s.charAt(i) == '\\' && i + 1 < s.length()) {
            i++;
          }
          value.append(s.charAt(i++));
        }
        if (i >= s.length()) {
          throw new IllegalArgumentException("key=value connection string: the value of " + shown(key)
              + " has no closing quote (a quote inside a quoted value is written \\')");
        }
        i++;
      } else {
        while (i < s.length() && !Character.isWhitespace(s.charAt(i))) {
          if (s.charAt(i) == '\\' && i + 1 < s.length()) {
            i++;
          }
          value.append(s.charAt(i++));
        }
      }
      params.put(key, value.toString());
      previous = key;
    }
    String user = params.remove("user");
    String password = params.remove("password");
    String host = params.remove("host");
    String port = params.remove("port");
    String database = params.remove("dbname");
    if (host == null) {
      host = params.remove("hostaddr");
    } else {
      params.remove("hostaddr");
    }
    String hosts = (host == null ? "localhost" : host) + (port == null ? "" : ":" + port);
    return new ConnectionString(jdbc(hosts, database == null ? "" : database, params), user, password);
  }

  private static String jdbc(String hosts, String database, Map<String, String> params) {
    StringBuilder url = new StringBuilder(JDBC).append("//").append(hosts).append('/').append(
        URLEncoder.encode(database, StandardCharsets.UTF_8).replace("+", "%20"));
    char sep = '?';
    for (Map.Entry<String, String> e : params.entrySet()) {
      url.append(sep).append(RENAMED.getOrDefault(e.getKey(), e.getKey())).append('=')
          .append(URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8));
      sep = '&';
    }
    return url.toString();
  }

  /** Percent-decodes {@code part}; the error names {@code what} it is, never the text (the decoder's message quotes it). */
  private static String decode(String part, String what) {
    try {
      return URLDecoder.decode(part.replace("+", "%2B"), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("URI: " + what + " has a malformed percent-escape (write % as %25, and each escape"
          + " as % and two hex digits)");
    }
  }

  /**
   * A key as a message may name it: as written where it looks like a parameter's name, else not
   * at all (a key that is a piece of a password whose blank was not escaped must not be shown).
   */
  private static String shown(String key) {
    return key.matches("[A-Za-z_][A-Za-z0-9_.]{0,62}") ? key : "a parameter";
  }

  /** The URL and user; never the password. */
  @Override
  public String toString() {
    return "ConnectionString[" + jdbcUrl + (user == null ? "" : " as " + user) + (password == null ? "" : ", password ***")
        + "]";
  }
}
