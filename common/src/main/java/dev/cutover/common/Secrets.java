package dev.cutover.common;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Properties;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Masks secrets in text that may reach a log, an exception or {@code toString()}. */
public final class Secrets {
  private static final String MASK = "***";
  private static final Pattern URL_PASSWORD =
      Pattern.compile("(?i)([?&;][^=&;]*(?:password|sdk-key|secret)[^=&;]*=)([^&;]*)");
  private static final Pattern USERINFO = Pattern.compile("(//[^/@:]+:)([^/@]*)@");

  private Secrets() {}

  /** A URL with every password parameter and user-info password replaced by {@code ***}. */
  public static String maskUrl(String url) {
    if (url == null) {
      return null;
    }
    String masked = URL_PASSWORD.matcher(url).replaceAll("$1" + MASK);
    return USERINFO.matcher(masked).replaceAll("$1" + MASK + "@");
  }

  /** Whether a setting's value must never be shown. */
  public static boolean isSecret(String key) {
    String k = key.toLowerCase(Locale.ROOT);
    return k.contains("password") || k.contains("sdk-key") || k.contains("secret");
  }

  /** The value as it may be shown: masked when the key names a secret. */
  public static String show(String key, String value) {
    if (value == null) {
      return null;
    }
    return isSecret(key) ? MASK : key.toLowerCase(Locale.ROOT).endsWith("url") ? maskUrl(value) : value;
  }

  /**
   * The secrets a connection to {@code url} with {@code properties} carries: passwords in the
   * properties, in URL parameters and in the URL's user info, as written and URL-decoded.
   */
  public static Set<String> of(String url, Properties properties) {
    Set<String> secrets = new LinkedHashSet<>();
    for (String key : properties.stringPropertyNames()) {
      if (isSecret(key)) {
        add(secrets, properties.getProperty(key));
      }
    }
    if (url != null) {
      for (Pattern p : new Pattern[] {URL_PASSWORD, USERINFO}) {
        Matcher m = p.matcher(url);
        while (m.find()) {
          add(secrets, m.group(2));
        }
      }
    }
    return secrets;
  }

  private static void add(Set<String> secrets, String value) {
    if (value == null || value.isEmpty()) {
      return;
    }
    secrets.add(value);
    try {
      secrets.add(URLDecoder.decode(value, StandardCharsets.UTF_8));
    } catch (IllegalArgumentException notEncoded) {
      // kept as written
    }
  }

  /** {@code text} with URLs masked and every one of {@code secrets} replaced by {@code ***}. */
  public static String mask(String text, Collection<String> secrets) {
    if (text == null) {
      return null;
    }
    String masked = maskUrl(text);
    for (String secret : secrets) {
      masked = masked.replace(secret, MASK);
    }
    return masked;
  }

  /**
   * {@code t} itself when no message in its cause chain contains one of {@code secrets}; otherwise
   * a copy of the chain whose messages are masked (PgJDBC puts the host part of a URL, user info
   * included, into its own exceptions). Each copy names the class it stands for, keeps its stack
   * trace and, for an {@link SQLException}, its SQLState.
   */
  public static Throwable scrub(Throwable t, Collection<String> secrets) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      String message = c.getMessage();
      if (message != null && !mask(message, secrets).equals(message)) {
        return copy(t, secrets);
      }
    }
    return t;
  }

  private static Throwable copy(Throwable t, Collection<String> secrets) {
    Throwable cause = t.getCause() == null || t.getCause() == t ? null : copy(t.getCause(), secrets);
    String state = t instanceof SQLException e ? e.getSQLState() : null;
    Masked m = new Masked(t.getClass().getName() + ": " + mask(t.getMessage(), secrets), state, cause);
    m.setStackTrace(t.getStackTrace());
    return m;
  }

  /** An exception whose message had a secret in it, as it may be shown. */
  static final class Masked extends SQLException {
    Masked(String message, String sqlState, Throwable cause) {
      super(message, sqlState, cause);
    }
  }
}
