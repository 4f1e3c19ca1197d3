package dev.cutover.flags;

import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;

/**
 * Reads and validates one flag setting at a time. Every error names the key and the bad value,
 * except for secrets, whose values never appear in a message.
 */
final class Settings {
  private final Map<String, String> values;

  Settings(Map<String, String> values) {
    this.values = values;
  }

  /** The trimmed value, or null when the key is absent or blank. */
  String get(String key) {
    String value = values.get(key);
    if (value == null || value.isBlank()) {
      return null;
    }
    return value.trim();
  }

  String get(String key, String fallback) {
    String value = get(key);
    return value == null ? fallback : value;
  }

  String required(String key, String what) {
    String value = get(key);
    if (value == null) {
      throw new IllegalArgumentException(key + " is required: " + what);
    }
    return value;
  }

  Target target(String key, Target fallback) {
    String value = get(key);
    if (value == null) {
      return fallback;
    }
    try {
      return Target.parse(value);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(key + ": " + e.getMessage(), e);
    }
  }

  boolean bool(String key, boolean fallback) {
    String value = get(key);
    if (value == null) {
      return fallback;
    }
    switch (value.toLowerCase(Locale.ROOT)) {
      case "true":
        return true;
      case "false":
        return false;
      default:
        throw new IllegalArgumentException(key + "=" + value + " is not a boolean: use true or false");
    }
  }

  /** A non-negative duration written in milliseconds. */
  Duration millis(String key, Duration fallback) {
    String value = get(key);
    if (value == null) {
      return fallback;
    }
    long ms;
    try {
      ms = Long.parseLong(value);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          key + "=" + value + " is not a number of milliseconds", e);
    }
    if (ms < 0) {
      throw new IllegalArgumentException(key + "=" + value + " must not be negative");
    }
    return Duration.ofMillis(ms);
  }

  /** An absolute http or https URI, or null when absent. */
  URI uri(String key) {
    String value = get(key);
    if (value == null) {
      return null;
    }
    URI uri;
    try {
      uri = new URI(value);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException(key + "=" + value + " is not a URI: " + e.getReason(), e);
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https")) {
      throw new IllegalArgumentException(key + "=" + value + " is not an http or https URI");
    }
    return uri;
  }
}
