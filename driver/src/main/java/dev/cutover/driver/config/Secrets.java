package dev.cutover.driver.config;

import java.util.Locale;
import java.util.regex.Pattern;

/** Masks secrets in text that may reach a log, an exception or {@code toString()}. */
public final class Secrets {
  private static final Pattern URL_PASSWORD =
      Pattern.compile("(?i)([?&;][^=&;]*(?:password|sdk-key|secret)[^=&;]*=)[^&;]*");
  private static final Pattern USERINFO = Pattern.compile("(//[^/@:]+:)[^/@]*@");

  private Secrets() {}

  /** A URL with every password parameter and user-info password replaced by {@code ***}. */
  public static String maskUrl(String url) {
    if (url == null) {
      return null;
    }
    String masked = URL_PASSWORD.matcher(url).replaceAll("$1***");
    return USERINFO.matcher(masked).replaceAll("$1***@");
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
    return isSecret(key) ? "***" : key.toLowerCase(Locale.ROOT).endsWith("url") ? maskUrl(value) : value;
  }
}
