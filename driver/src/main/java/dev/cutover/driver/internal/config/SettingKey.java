package dev.cutover.driver.internal.config;

import dev.cutover.common.Durations;
import dev.cutover.flags.FlagKey;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The driver's own settings: each key, its default, and how it is read. The one place a driver
 * setting's default is written; the keys it shares with the flag sources take theirs from {@link
 * FlagKey}. docs/driver.md's settings table is checked against {@link #documentedDefault()}.
 */
public enum SettingKey {
  NEW_URL("cutover.new.url", null, "required"),
  NEW_USER("cutover.new.user", null, "the old side's"),
  NEW_PASSWORD("cutover.new.password", null, "the old side's"),
  OLD_DIRECT_URL("cutover.old.direct-url", null),
  NEW_DIRECT_URL("cutover.new.direct-url", null),
  SESSION_CUSTOM_SETTINGS("cutover.session.custom-settings", null),
  SERVICE(FlagKey.SERVICE),
  INSTANCE(FlagKey.INSTANCE),
  DRAIN_TIMEOUT("cutover.drain.timeout", "5s"),
  BARRIER_TIMEOUT("cutover.barrier.timeout", "10s"),
  /** Unset, {@link #gateMaxPause(Duration, Duration)}. */
  GATE_MAX_PAUSE("cutover.gate.max-pause", null, "drain + barrier + 5 s"),
  SEQUENCE_MARGIN("cutover.sequence.margin", "1000"),
  SWITCH_FORCE("cutover.switch.force", "false"),
  /** How often a switch refused before it began (its checks, its probe) is tried again while the flag still asks for it. */
  SWITCH_RETRY_INTERVAL("cutover.switch.retry-interval", "10s"),
  ROUTER_LINGER("cutover.router.linger", "30s");

  private static final Map<String, SettingKey> BY_KEY =
      Arrays.stream(values()).collect(Collectors.toUnmodifiableMap(k -> k.key, Function.identity()));

  private final String key;
  private final String defaultValue;
  private final String documentedDefault;

  SettingKey(String key, String defaultValue) {
    this(key, defaultValue, FlagKey.documented(defaultValue));
  }

  /** A key whose default is not a value (required, computed, another setting's), described in words. */
  SettingKey(String key, String defaultValue, String documentedDefault) {
    this.key = key;
    this.defaultValue = defaultValue;
    this.documentedDefault = documentedDefault;
  }

  SettingKey(FlagKey shared) {
    this(shared.key(), shared.defaultValue(), shared.documentedDefault());
  }

  public String key() {
    return key;
  }

  /** The value read when the key is not set, as it would be written; null when there is none. */
  public String defaultValue() {
    return defaultValue;
  }

  /** The default as docs/driver.md's settings table writes it: {@code `5s`}, {@code —} for none, or words. */
  String documentedDefault() {
    return documentedDefault;
  }

  /**
   * {@link #GATE_MAX_PAUSE}'s default: the drain and barrier budgets and 5 s more, so that a switch
   * that uses both budgets whole still ends before a transaction waiting at its gate gives up.
   */
  static Duration gateMaxPause(Duration drain, Duration barrier) {
    return drain.plus(barrier).plusSeconds(5);
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
