package dev.cutover.flags;

import dev.cutover.common.Durations;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;

/**
 * A flag source's settings, read and validated one at a time: for {@link FlagProvider}s. Every
 * error is an {@link IllegalArgumentException} that names the key and the bad value, except for
 * secrets, whose values never appear in a message.
 */
public final class FlagSettings {
  private final Map<String, String> values;

  public FlagSettings(Map<String, String> values) {
    this.values = values;
  }

  /** The trimmed value, or null when the key is absent or blank. */
  public String get(String key) {
    String value = values.get(key);
    if (value == null || value.isBlank()) {
      return null;
    }
    return value.trim();
  }

  public String get(String key, String fallback) {
    String value = get(key);
    return value == null ? fallback : value;
  }

  /** The trimmed value, or the key's default when it is absent or blank. */
  public String get(FlagKey key) {
    return get(key.key(), key.defaultValue());
  }

  public String required(String key, String what) {
    String value = get(key);
    if (value == null) {
      throw new IllegalArgumentException(key + " is required: " + what);
    }
    return value;
  }

  public Target target(String key, Target fallback) {
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

  /** The target set, or the key's default. */
  public Target target(FlagKey key) {
    return target(key.key(), Target.parse(key.defaultValue()));
  }

  /** The boolean set, or the key's default. */
  public boolean bool(FlagKey key) {
    return bool(key.key(), Boolean.parseBoolean(key.defaultValue()));
  }

  public boolean bool(String key, boolean fallback) {
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

  /** A duration in the syntax every module shares ({@link Durations}: {@code 5s}, or a bare number of milliseconds). */
  public Duration millis(String key, Duration fallback) {
    String value = get(key);
    return value == null ? fallback : Durations.parse(key, value);
  }

  /** The duration set, or the key's default, both read by {@link Durations}. */
  public Duration millis(FlagKey key) {
    return Durations.parse(key.key(), get(key));
  }

  /** An absolute http or https URI, or null when absent. */
  public URI uri(String key) {
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
