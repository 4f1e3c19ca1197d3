package dev.cutover.flags;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Opens the routing flag that a driver's settings describe. Settings use the driver's keys
 * ({@code cutover.flag.*}, {@code cutover.service}, {@code cutover.instance}); errors name the key
 * and the bad value, never a secret.
 *
 * <p>Providers ({@value #PROVIDER}):
 *
 * <ul>
 *   <li>none (the default, or {@code none}): no flag; the instance serves where its service serves
 *       and never leads a switch; see {@link NoFlag}.
 *   <li>{@code fixed}: {@value #VALUE}, {@code old} unless set; see {@link FixedFlag}.
 *   <li>{@code manual}: the in-JVM flag named {@value #KEY}; see {@link ManualFlag}.
 *   <li>{@code launchdarkly}: the LaunchDarkly flag {@value #KEY}, from the artifact {@value
 *       #LAUNCHDARKLY_ARTIFACT}, which must be on the class path; see its {@code LaunchDarklyFlag}
 *       for the settings ({@code cutover.flag.ld.*}).
 *   <li>{@code file}: the text file {@value #FILE}, with {@value #DEFAULT} while its content is not
 *       a target; see {@link FileFlag}.
 * </ul>
 *
 * <p>Any other name is looked up among the {@link FlagProvider}s on the class path.
 *
 * <p>A setting of a built-in provider other than the one chosen ({@value #FILE} without {@code
 * file}, {@code cutover.flag.ld.*} without {@code launchdarkly}, any of them without a provider) is
 * refused: it can only be a mistake, and ignoring it would leave an instance without the flag its
 * operator meant it to follow. Sources from the class path get every setting and are not checked.
 */
public final class RoutingFlags {
  public static final String PROVIDER = "cutover.flag.provider";
  public static final String VALUE = "cutover.flag.value";
  public static final String KEY = "cutover.flag.key";
  /** The target until the source delivers a value; {@code old} unless set. */
  public static final String DEFAULT = "cutover.flag.default";
  /** The file the {@code file} provider watches. */
  public static final String FILE = "cutover.flag.file";
  /** The service name: LaunchDarkly's context key; {@code default} unless set. */
  public static final String SERVICE = "cutover.service";
  /** This instance's id: the LaunchDarkly context's {@code instanceId}; generated unless set. */
  public static final String INSTANCE = "cutover.instance";

  public static final String LD_SDK_KEY = "cutover.flag.ld.sdk-key";
  public static final String LD_RELAY_URI = "cutover.flag.ld.relay-uri";
  public static final String LD_STREAM_URI = "cutover.flag.ld.stream-uri";
  public static final String LD_POLLING_URI = "cutover.flag.ld.polling-uri";
  public static final String LD_EVENTS_URI = "cutover.flag.ld.events-uri";
  public static final String LD_POLLING = "cutover.flag.ld.polling";
  public static final String LD_POLL_INTERVAL = "cutover.flag.ld.poll-interval";
  public static final String LD_RECONNECT_DELAY = "cutover.flag.ld.reconnect-delay";
  public static final String LD_START_WAIT = "cutover.flag.ld.start-wait";
  public static final String LD_EVENTS = "cutover.flag.ld.events";

  /** Every setting this module reads ({@link FlagKey}), so the driver can reject unknown keys. */
  public static final Set<String> SETTINGS = FlagKey.KEYS;

  /** Settings whose values are secrets: mask them wherever settings are shown. */
  public static final Set<String> SECRETS = Set.of(LD_SDK_KEY);

  private static final String PROVIDERS = "launchdarkly, file, fixed, manual, none";
  private static final String NONE = "none";
  private static final String LD_PREFIX = "cutover.flag.ld.";
  /** The built-in providers that read each provider-specific setting (and every {@value #LD_PREFIX}* one: launchdarkly). */
  private static final Map<String, List<String>> READ_BY = Map.of(
      VALUE, List.of("fixed"),
      KEY, List.of("launchdarkly", "manual"),
      FILE, List.of("file"),
      DEFAULT, List.of("launchdarkly", "file"));
  /** The artifact that brings the {@code launchdarkly} provider (and the LaunchDarkly SDK). */
  public static final String LAUNCHDARKLY_ARTIFACT = "dev.cutover:cutover-flags-launchdarkly";

  private RoutingFlags() {}

  /**
   * Opens the flag the settings describe. For {@code launchdarkly} this waits up to {@value
   * #LD_START_WAIT} for the first value.
   *
   * @throws IllegalArgumentException when the provider is unknown or a setting it needs is missing
   *     or invalid; the message names the key and the bad value
   */
  public static RoutingFlag open(Map<String, String> settings) {
    return open(settings, System::getenv);
  }

  static RoutingFlag open(Map<String, String> values, Function<String, String> env) {
    FlagSettings settings = new FlagSettings(values);
    String chosen = settings.get(FlagKey.PROVIDER);
    String provider = chosen == null ? NONE : chosen;
    refuseSettingsNotRead(values, chosen, settings);
    switch (provider) {
      case NONE:
        return NoFlag.INSTANCE;
      case "fixed":
        return new FixedFlag(settings.target(FlagKey.VALUE));
      case "manual":
        return ManualFlag.named(settings.required(KEY, "the name of the in-JVM flag to follow"));
      case "launchdarkly":
        return provider("launchdarkly")
            .orElseThrow(() -> new IllegalArgumentException(PROVIDER + "=launchdarkly needs the LaunchDarkly flag source"
                + " on the class path: add the dependency " + LAUNCHDARKLY_ARTIFACT + ":" + CutoverVersion.get()
                + " (it brings the LaunchDarkly SDK), or route by cutover.flag.provider=file"))
            .open(settings, env);
      case "file":
        return FileFlag.open(
            path(settings.required(FILE, "the text file holding old or new")),
            settings.target(FlagKey.DEFAULT));
      default:
        return provider(provider.toLowerCase(Locale.ROOT))
            .orElseThrow(() -> new IllegalArgumentException(
                PROVIDER + "=" + provider + " is not a flag provider: use one of " + PROVIDERS))
            .open(settings, env);
    }
  }

  /**
   * Refuses a setting that only a built-in provider other than {@code chosen} reads ({@code chosen}
   * null: none was chosen). A class-path source may read any setting, so it is not checked.
   */
  private static void refuseSettingsNotRead(Map<String, String> values, String chosen, FlagSettings settings) {
    String provider = chosen == null ? NONE : chosen;
    if (!provider.equals(NONE) && READ_BY.values().stream().noneMatch(names -> names.contains(provider))) {
      return; // not a built-in provider
    }
    for (String key : new java.util.TreeSet<>(values.keySet())) {
      List<String> readers = key.startsWith(LD_PREFIX) ? List.of("launchdarkly") : READ_BY.get(key);
      if (readers == null || readers.contains(provider) || settings.get(key) == null) {
        continue;
      }
      String setting = SECRETS.contains(key) ? key + " is set" : key + "=" + settings.get(key) + " is set";
      String remedy = "set " + readers.stream().map(r -> PROVIDER + "=" + r).collect(Collectors.joining(" or "))
          + " to route by it, or remove " + key;
      throw new IllegalArgumentException(chosen == null
          ? setting + " but " + PROVIDER + " is not, so nothing reads it and this instance would only follow"
              + " where its service serves: " + remedy
          : setting + " but " + PROVIDER + "=" + chosen + " does not read it: " + remedy);
    }
  }

  /**
   * The provider of that name on the class path: the thread's context class loader is asked
   * first (an application server's or Spring Boot's), then the one that loaded this class.
   */
  static Optional<FlagProvider> provider(String name) {
    ClassLoader context = Thread.currentThread().getContextClassLoader();
    Optional<FlagProvider> found = context == null ? Optional.empty() : find(name, context);
    return found.isPresent() ? found : find(name, RoutingFlags.class.getClassLoader());
  }

  private static Optional<FlagProvider> find(String name, ClassLoader loader) {
    for (FlagProvider p : ServiceLoader.load(FlagProvider.class, loader)) {
      if (p.name().equals(name)) {
        return Optional.of(p);
      }
    }
    return Optional.empty();
  }

  private static Path path(String value) {
    try {
      return Path.of(value);
    } catch (InvalidPathException e) {
      throw new IllegalArgumentException(FILE + "=" + value + " is not a path: " + e.getReason(), e);
    }
  }
}
