package dev.cutover.driver.internal.config;

import dev.cutover.common.Durations;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

/** The driver's own settings: each key, its default, and how it is read. */
public enum SettingKey {
  NEW_URL("cutover.new.url", null),
  NEW_USER("cutover.new.user", null),
  NEW_PASSWORD("cutover.new.password", null),
  OLD_DIRECT_URL("cutover.old.direct-url", null),
  NEW_DIRECT_URL("cutover.new.direct-url", null),
  SESSION_CUSTOM_SETTINGS("cutover.session.custom-settings", ""),
  SERVICE("cutover.service", "default"),
  INSTANCE("cutover.instance", null),
  DRAIN_TIMEOUT("cutover.drain.timeout", "5s"),
  BARRIER_TIMEOUT("cutover.barrier.timeout", "10s"),
  GATE_MAX_PAUSE("cutover.gate.max-pause", null),
  SEQUENCE_MARGIN("cutover.sequence.margin", "1000"),
  SWITCH_FORCE("cutover.switch.force", "false"),
  ROUTER_LINGER("cutover.router.linger", "30s");

  private static final Map<String, SettingKey> BY_KEY =
      Arrays.stream(values()).collect(Collectors.toUnmodifiableMap(k -> k.key, Function.identity()));

  private final String key;
  private final String defaultValue;

  SettingKey(String key, String defaultValue) {
    this.key = key;
    this.defaultValue = defaultValue;
  }

  public String key() {
    return key;
  }

  String defaultValue() {
    return defaultValue;
  }

  /** {@code cutover.gate.max-pause} → {@code CUTOVER_GATE_MAX_PAUSE}. */
  static String environmentName(String key) {
    return key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
  }

  static Optional<SettingKey> of(String key) {
    return Optional.ofNullable(BY_KEY.get(key));
  }

  /** Reads a duration in the syntax every module shares ({@link Durations}); zero is refused. */
  static Duration parseDuration(String key, String value) {
    return Durations.positive(key, value);
  }
}
