package dev.cutover.flags;

import java.util.Arrays;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Every setting the flag sources read, with its default: the one place a flag setting's default is
 * written. {@link FlagSettings} reads a key's value or, when it is not set, this default; the
 * driver's settings table in docs/driver.md is checked against {@link #documentedDefault()}.
 */
public enum FlagKey {
  PROVIDER(RoutingFlags.PROVIDER, null, "none"),
  VALUE(RoutingFlags.VALUE, "old"),
  KEY(RoutingFlags.KEY, null),
  FILE(RoutingFlags.FILE, null),
  DEFAULT(RoutingFlags.DEFAULT, "old"),
  SERVICE(RoutingFlags.SERVICE, "default"),
  INSTANCE(RoutingFlags.INSTANCE, null, "generated"),
  LD_SDK_KEY(RoutingFlags.LD_SDK_KEY, null, "the `LD_SDK_KEY` variable"),
  LD_RELAY_URI(RoutingFlags.LD_RELAY_URI, null),
  LD_STREAM_URI(RoutingFlags.LD_STREAM_URI, null, "the relay's, else LaunchDarkly's"),
  LD_POLLING_URI(RoutingFlags.LD_POLLING_URI, null, "the relay's, else LaunchDarkly's"),
  LD_EVENTS_URI(RoutingFlags.LD_EVENTS_URI, null, "the relay's, else LaunchDarkly's"),
  LD_POLLING(RoutingFlags.LD_POLLING, "false"),
  LD_POLL_INTERVAL(RoutingFlags.LD_POLL_INTERVAL, "30s"),
  LD_RECONNECT_DELAY(RoutingFlags.LD_RECONNECT_DELAY, "1s"),
  LD_START_WAIT(RoutingFlags.LD_START_WAIT, "5s"),
  LD_EVENTS(RoutingFlags.LD_EVENTS, "true");

  static final Set<String> KEYS = Arrays.stream(values()).map(FlagKey::key).collect(Collectors.toUnmodifiableSet());

  private final String key;
  private final String defaultValue;
  private final String documentedDefault;

  FlagKey(String key, String defaultValue) {
    this(key, defaultValue, documented(defaultValue));
  }

  /** A key whose default is not a value (computed, generated or taken from elsewhere), described in words. */
  FlagKey(String key, String defaultValue, String documentedDefault) {
    this.key = key;
    this.defaultValue = defaultValue;
    this.documentedDefault = documentedDefault;
  }

  public String key() {
    return key;
  }

  /** The value read when the key is not set, as it would be written; null when there is none. */
  public String defaultValue() {
    return defaultValue;
  }

  /** The default as docs/driver.md's settings table writes it: {@code `5s`}, {@code —} for none, or words. */
  public String documentedDefault() {
    return documentedDefault;
  }

  /**
   * How docs/driver.md's settings table writes a default that is a value ({@code `5s`}) or none
   * ({@code —}); the driver's own settings are in the same table and written the same way.
   */
  public static String documented(String defaultValue) {
    return defaultValue == null ? "—" : "`" + defaultValue + "`";
  }
}
