package dev.cutover.driver.internal.config;

import dev.cutover.common.Identifiers;
import dev.cutover.common.Secrets;
import dev.cutover.flags.RoutingFlags;
import dev.cutover.flags.Target;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * The settings of one Cutover connection, resolved from every source and validated.
 *
 * <p>Precedence, highest first: URL parameters, JDBC {@link Properties}, the {@code
 * cutover.properties} file, {@code CUTOVER_*} environment variables, defaults. Keys starting
 * with {@code cutover.} are ours and never reach PgJDBC; everything else is passed through
 * unchanged. Two connections with the same {@link #routerKey} share one router (and one switch):
 * settings that differ only in a password (rotated) are one router, which takes the latest.
 *
 * <p>Our parameters are taken out of the URL's query here, by hand, rather than by PgJDBC's
 * {@code Driver.parseURL}, which logs the whole URL when it cannot parse it: the new side's
 * password or a flag provider's key must never reach a log.
 */
public final class CutoverSettings {
  public static final String URL_PREFIX = "jdbc:cutover:postgresql:";
  static final String OURS = "cutover.";
  private static final String PG_PREFIX = "jdbc:postgresql:";
  private static final Pattern CUSTOM_SETTING =
      Pattern.compile("[A-Za-z_][A-Za-z0-9_$]*(\\.[A-Za-z_][A-Za-z0-9_$]*)+");

  private final String oldUrl;
  private final Properties oldProperties;
  /** Old's properties with the URL's PgJDBC parameters and credentials: what its direct URL connects with. */
  private final Properties oldDirectProperties;
  private final String newUrl;
  private final Properties newProperties;
  private final Map<String, String> values;
  // Read once, here, so that a bad value fails the first connection and no later call parses again.
  private final boolean force;
  private final Duration drainTimeout;
  private final Duration barrierTimeout;
  private final Duration gateMaxPause;
  private final Duration routerLinger;
  private final Duration retryInterval;
  private final long sequenceMargin;
  private final Optional<String> oldDirectUrl;
  private final Optional<String> newDirectUrl;
  private final List<String> customSettings;
  private final RouterKey routerKey;

  private CutoverSettings(
      String oldUrl, Properties oldProperties, Properties oldDirectProperties, String newUrl, Properties newProperties,
      Map<String, String> values) {
    this.oldUrl = oldUrl;
    this.oldProperties = oldProperties;
    this.oldDirectProperties = oldDirectProperties;
    this.newUrl = newUrl;
    this.newProperties = newProperties;
    this.values = Collections.unmodifiableMap(values);
    this.force = readForce();
    this.drainTimeout = duration(SettingKey.DRAIN_TIMEOUT);
    this.barrierTimeout = duration(SettingKey.BARRIER_TIMEOUT);
    this.gateMaxPause = get(SettingKey.GATE_MAX_PAUSE) == null
        ? SettingKey.gateMaxPause(drainTimeout, barrierTimeout) : duration(SettingKey.GATE_MAX_PAUSE);
    this.sequenceMargin = readSequenceMargin();
    this.oldDirectUrl = readDirectUrl(SettingKey.OLD_DIRECT_URL);
    this.newDirectUrl = readDirectUrl(SettingKey.NEW_DIRECT_URL);
    this.customSettings = readCustomSettings();
    this.routerLinger = duration(SettingKey.ROUTER_LINGER);
    this.retryInterval = duration(SettingKey.SWITCH_RETRY_INTERVAL);
    this.routerKey = new RouterKey(this);
  }

  /** PgJDBC properties that are secrets a rotation replaces: not part of what makes a router. */
  private static final List<String> ROTATED = List.of("password", "sslpassword");
  /** Our settings that are URLs: in the key with their passwords masked. */
  private static final List<String> URL_VALUED = List.of(SettingKey.NEW_URL.key(), SettingKey.OLD_DIRECT_URL.key(),
      SettingKey.NEW_DIRECT_URL.key());

  /**
   * What makes two connections one router: everything but the passwords (PgJDBC's {@code password}
   * and {@code sslpassword}, {@code cutover.new.password}, and passwords inside the URLs), so that a
   * pool whose password was rotated at runtime stays one router, which takes the latest credentials
   * ({@code Routers}). Users stay in it: two roles are two routers. Holds no secret; compared on
   * every connect, so its hash is computed once.
   */
  public RouterKey routerKey() {
    return routerKey;
  }

  /** See {@link #routerKey()}. */
  public static final class RouterKey {
    private final String oldUrl;
    private final Map<Object, Object> oldProperties;
    private final String newUrl;
    private final Map<Object, Object> newProperties;
    private final Map<String, String> values;
    private final int hash;

    private RouterKey(CutoverSettings s) {
      this.oldUrl = Secrets.maskUrl(s.oldUrl);
      this.oldProperties = withoutSecrets(s.oldProperties);
      this.newUrl = Secrets.maskUrl(s.newUrl);
      this.newProperties = withoutSecrets(s.newProperties);
      Map<String, String> v = new TreeMap<>(s.values);
      v.remove(SettingKey.NEW_PASSWORD.key());
      for (String key : URL_VALUED) {
        v.computeIfPresent(key, (k, url) -> Secrets.maskUrl(url));
      }
      this.values = Collections.unmodifiableMap(v);
      this.hash = Objects.hash(oldUrl, oldProperties, newUrl, newProperties, values);
    }

    private static Map<Object, Object> withoutSecrets(Properties p) {
      Map<Object, Object> m = new java.util.HashMap<>(p);
      ROTATED.forEach(m::remove);
      return Collections.unmodifiableMap(m);
    }

    @Override
    public boolean equals(Object o) {
      if (!(o instanceof RouterKey)) {
        return false;
      }
      RouterKey k = (RouterKey) o;
      return hash == k.hash && oldUrl.equals(k.oldUrl) && newUrl.equals(k.newUrl) && oldProperties.equals(k.oldProperties)
          && newProperties.equals(k.newProperties) && values.equals(k.values);
    }

    @Override
    public int hashCode() {
      return hash;
    }

    @Override
    public String toString() {
      return "RouterKey[old=" + oldUrl + ", user=" + oldProperties.get("user") + ", new=" + newUrl + ", newUser="
          + newProperties.get("user") + "]";
    }
  }

  public static boolean accepts(String url) {
    return url != null && url.startsWith(URL_PREFIX);
  }

  /**
   * Resolves the settings for a {@code jdbc:cutover:postgresql:} URL.
   *
   * @throws IllegalArgumentException naming the key or the (masked) URL when anything is invalid
   */
  public static CutoverSettings resolve(String url, Properties info, SettingSources sources) {
    if (!accepts(url)) {
      throw new IllegalArgumentException(
          "'" + Secrets.maskUrl(url) + "' is not a Cutover URL: it must start with " + URL_PREFIX);
    }
    Map<String, String> merged = new TreeMap<>();
    sources.environment().forEach((k, v) -> merged.put(k, v));
    sources.file().forEach((k, v) -> merged.put(k, v));

    Properties pg = new Properties();
    if (info != null) {
      for (String name : info.stringPropertyNames()) {
        String value = info.getProperty(name);
        if (name.startsWith(OURS)) {
          merged.put(name, value);
        } else {
          pg.setProperty(name, value);
        }
      }
    }

    String pgUrl = PG_PREFIX + url.substring(URL_PREFIX.length());
    int query = pgUrl.indexOf('?');
    List<String> kept = new ArrayList<>();
    // PgJDBC's own parameters in the application's URL, read as PgJDBC reads them: they win over
    // the JDBC properties on old, and reach the new side and the direct URLs the same way.
    Properties urlParameters = new Properties();
    if (query >= 0) {
      int position = 0;
      for (String pair : pgUrl.substring(query + 1).split("&")) {
        position++;
        if (pair.isEmpty()) {
          continue;
        }
        int eq = pair.indexOf('=');
        String rawName = eq < 0 ? pair : pair.substring(0, eq);
        String name = decode(rawName, url, "the name of URL parameter " + position);
        if (name.startsWith(OURS)) {
          merged.put(name, eq < 0 ? "" : decode(pair.substring(eq + 1), url, "the value of URL parameter " + name));
        } else {
          kept.add(pair);
          urlParameters.setProperty(name, eq < 0 ? "" : decode(pair.substring(eq + 1), url, "the value of URL parameter " + name));
        }
      }
      pgUrl = pgUrl.substring(0, query) + (kept.isEmpty() ? "" : "?" + String.join("&", kept));
    }
    // PgJDBC lets URL parameters win over properties; the new side's credentials default to
    // whatever the old side really uses, so they are read the same way.
    Properties effective = org.postgresql.Driver.parseURL(pgUrl, pg);
    if (effective == null) {
      throw new IllegalArgumentException(
          "malformed URL '" + Secrets.maskUrl(url) + "': expected "
              + URL_PREFIX + "//host[:port]/database[?key=value&...]");
    }

    checkKnown(merged);
    // Trimmed where they are read, so that "booking " is the service "booking" (not a second one,
    // whose switch would fence this one's transactions) and equal settings share one router.
    identifier(merged, SettingKey.SERVICE, "'" + SettingKey.SERVICE.defaultValue() + "'");
    identifier(merged, SettingKey.INSTANCE, "a generated id");
    String newUrl = merged.get(SettingKey.NEW_URL.key());
    if (newUrl == null || newUrl.isBlank()) {
      throw new IllegalArgumentException(
          SettingKey.NEW_URL.key() + " is required: the jdbc:postgresql: URL of the database to move to"
              + " (set it as a URL parameter, a JDBC property, in cutover.properties or as CUTOVER_NEW_URL)");
    }
    if (!newUrl.startsWith(PG_PREFIX) || org.postgresql.Driver.parseURL(newUrl, new Properties()) == null) {
      throw new IllegalArgumentException(
          SettingKey.NEW_URL.key() + "='" + Secrets.maskUrl(newUrl) + "' is malformed: expected "
              + PG_PREFIX + "//host[:port]/database");
    }
    Properties withUrl = new Properties();
    withUrl.putAll(pg);
    withUrl.putAll(urlParameters);
    putIfPresent(withUrl, "user", effective.getProperty("user"));
    putIfPresent(withUrl, "password", effective.getProperty("password"));
    Properties newPg = new Properties();
    newPg.putAll(withUrl);
    newPg.remove("user");
    newPg.remove("password");
    putIfPresent(newPg, "user", merged.getOrDefault(SettingKey.NEW_USER.key(), effective.getProperty("user")));
    putIfPresent(newPg, "password",
        merged.getOrDefault(SettingKey.NEW_PASSWORD.key(), effective.getProperty("password")));

    return new CutoverSettings(pgUrl, pg, withUrl, newUrl, newPg, merged);
  }

  private static void checkKnown(Map<String, String> merged) {
    for (String key : merged.keySet()) {
      if (SettingKey.of(key).isEmpty() && !RoutingFlags.SETTINGS.contains(key)) {
        TreeSet<String> known = new TreeSet<>(RoutingFlags.SETTINGS);
        for (SettingKey k : SettingKey.values()) {
          known.add(k.key());
        }
        throw new IllegalArgumentException(key + " is not a Cutover setting; known settings: " + known);
      }
    }
  }

  private static void identifier(Map<String, String> merged, SettingKey key, String whenUnset) {
    String value = merged.get(key.key());
    if (value != null) {
      merged.put(key.key(), Identifiers.trimmed(key.key(), value, whenUnset));
    }
  }

  private static void putIfPresent(Properties p, String key, String value) {
    if (value != null) {
      p.setProperty(key, value);
    }
  }

  /**
   * Percent-decodes part of the URL's query. The error names {@code what} and the URL up to its
   * query, never the text (a value may be a password) nor the decoder's message or cause, which
   * quote it.
   */
  private static String decode(String s, String url, String what) {
    try {
      return URLDecoder.decode(s, StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(what + " in '" + Secrets.maskUrl(url.substring(0, url.indexOf('?')))
          + "?...' has a malformed percent-escape: write % as %25, and each escape as % and two hex digits");
    }
  }

  private String get(SettingKey key) {
    return values.getOrDefault(key.key(), key.defaultValue());
  }

  private Duration duration(SettingKey key) {
    return SettingKey.parseDuration(key.key(), get(key));
  }

  /** The old database's PgJDBC URL, without our parameters. */
  public String oldUrl() {
    return oldUrl;
  }

  /** PgJDBC properties for the old database (a copy). */
  public Properties oldProperties() {
    return copy(oldProperties);
  }

  public String newUrl() {
    return newUrl;
  }

  /**
   * PgJDBC properties for the new database: the old side's, its application URL's PgJDBC
   * parameters included (sslmode, currentSchema, options, socketTimeout: new's own URL wins), with
   * the new side's credentials.
   */
  public Properties newProperties() {
    return copy(newProperties);
  }

  public String service() {
    return get(SettingKey.SERVICE);
  }

  /** This instance's id among the service's instances, when set. */
  public Optional<String> instance() {
    return Optional.ofNullable(get(SettingKey.INSTANCE));
  }

  /**
   * PgJDBC properties for {@code side}'s direct URL (a copy): the side's, old's with what its
   * application URL names (its parameters and credentials), which new's have too.
   */
  public Properties properties(Target side) {
    return side == Target.OLD ? copy(oldDirectProperties) : newProperties();
  }

  /** How long a router nothing uses any more stays before it closes. */
  public Duration routerLinger() {
    return routerLinger;
  }

  /** How long after a switch refused before it began the router tries it again, while its flag still asks for it. */
  public Duration retryInterval() {
    return retryInterval;
  }

  public Duration drainTimeout() {
    return drainTimeout;
  }

  public Duration barrierTimeout() {
    return barrierTimeout;
  }

  /** How long a transaction may wait at the gate; by default {@link SettingKey#gateMaxPause}. */
  public Duration gateMaxPause() {
    return gateMaxPause;
  }

  /** How many increments past the old side's value each sequence on the new side is moved. */
  public long sequenceMargin() {
    return sequenceMargin;
  }

  private long readSequenceMargin() {
    String v = get(SettingKey.SEQUENCE_MARGIN);
    try {
      long margin = Long.parseLong(v.trim());
      if (margin < 1) {
        throw new NumberFormatException();
      }
      return margin;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          SettingKey.SEQUENCE_MARGIN.key() + "=" + v + " must be a positive whole number", e);
    }
  }

  /**
   * Whether a switch may go on without proof that replication delivers (no probe, no barrier):
   * for an emergency, accepting that writes not yet replicated stay behind.
   */
  public boolean force() {
    return force;
  }

  private boolean readForce() {
    String v = get(SettingKey.SWITCH_FORCE).trim();
    if (v.equalsIgnoreCase("true") || v.equalsIgnoreCase("false")) {
      return Boolean.parseBoolean(v);
    }
    throw new IllegalArgumentException(SettingKey.SWITCH_FORCE.key() + "=" + v + " must be true or false");
  }

  /**
   * The URL of a direct session to {@code side}, bypassing a connection pooler in front of it:
   * what the switch needs a real session for (its leader lock, the fence, the barrier, ending
   * stragglers) goes there, while the application's connections keep going through the pooler.
   * Credentials are the side's own unless the URL names others.
   */
  public Optional<String> directUrl(Target side) {
    return side == Target.OLD ? oldDirectUrl : newDirectUrl;
  }

  private Optional<String> readDirectUrl(SettingKey key) {
    String v = get(key);
    if (v == null || v.isBlank()) {
      return Optional.empty();
    }
    if (!v.startsWith(PG_PREFIX) || org.postgresql.Driver.parseURL(v, new Properties()) == null) {
      throw new IllegalArgumentException(key.key() + "='" + Secrets.maskUrl(v) + "' is malformed: expected "
          + PG_PREFIX + "//host[:port]/database, the database itself rather than the pooler in front of it");
    }
    return Optional.of(v);
  }

  /**
   * Custom settings (placeholders such as {@code app.tenant_id}) a session's move carries besides
   * those the driver finds itself: PostgreSQL lists them nowhere, so a name no policy or function
   * reads must be given here.
   */
  public List<String> customSettings() {
    return customSettings;
  }

  private List<String> readCustomSettings() {
    String v = get(SettingKey.SESSION_CUSTOM_SETTINGS);
    if (v == null || v.isBlank()) {
      return List.of();
    }
    List<String> names = new ArrayList<>();
    for (String name : v.trim().split(",")) {
      String n = name.trim();
      if (!CUSTOM_SETTING.matcher(n).matches()) {
        throw new IllegalArgumentException(SettingKey.SESSION_CUSTOM_SETTINGS.key() + "=" + v.trim() + " holds '" + n
            + "', which is not a custom setting name: write prefix.name, comma-separated (app.tenant_id,app.user)");
      }
      names.add(n.toLowerCase(java.util.Locale.ROOT));
    }
    return List.copyOf(names);
  }

  /** Every {@code cutover.*} value that was set, for the flag module. */
  public Map<String, String> values() {
    return values;
  }

  private static Properties copy(Properties p) {
    Properties c = new Properties();
    c.putAll(p);
    return c;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof CutoverSettings)) {
      return false;
    }
    CutoverSettings s = (CutoverSettings) o;
    return oldUrl.equals(s.oldUrl)
        && oldProperties.equals(s.oldProperties)
        && newUrl.equals(s.newUrl)
        && newProperties.equals(s.newProperties)
        && values.equals(s.values);
  }

  @Override
  public int hashCode() {
    return Objects.hash(oldUrl, newUrl, values.keySet(), oldProperties.keySet());
  }

  /** Masked: safe to log. */
  @Override
  public String toString() {
    Map<String, String> shown = new TreeMap<>();
    values.forEach((k, v) -> shown.put(k, Secrets.show(k, v)));
    return "CutoverSettings[old=" + Secrets.maskUrl(oldUrl) + ", user=" + oldProperties.getProperty("user")
        + ", new=" + Secrets.maskUrl(newUrl) + ", newUser=" + newProperties.getProperty("user")
        + ", settings=" + shown + "]";
  }
}
