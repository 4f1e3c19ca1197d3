package dev.cutover.driver.internal.config;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where settings come from besides the URL and JDBC properties: {@code CUTOVER_*} environment
 * variables and a {@code cutover.properties} file. The file is the one named by the system
 * property {@code cutover.config} or the variable {@code CUTOVER_CONFIG}, otherwise {@code
 * cutover.properties} on the class path, otherwise none.
 */
public final class SettingSources {
  private static final Logger LOG = LoggerFactory.getLogger(SettingSources.class);
  static final String CONFIG_PROPERTY = "cutover.config";
  static final String CONFIG_VARIABLE = "CUTOVER_CONFIG";
  /**
   * The replicator's own variables (its admin credentials among them): the driver never reads
   * them and says nothing about them, so an application started from the operator's shell never
   * connects with them.
   */
  static final String REPLICATOR_PREFIX = "CUTOVER_REPLICATOR_";
  /** Variables already reported, so each is named once per JVM rather than at every connection. */
  private static final Set<String> IGNORED_VARIABLES = ConcurrentHashMap.newKeySet();

  private final Map<String, String> environment;
  private final Map<String, String> file;

  private SettingSources(Map<String, String> environment, Map<String, String> file) {
    this.environment = environment;
    this.file = file;
  }

  /** The process's environment and configuration file, read now. */
  public static SettingSources system() {
    return of(System.getenv(), System.getProperty(CONFIG_PROPERTY));
  }

  /** Sources from a given environment; {@code configFile} overrides {@code CUTOVER_CONFIG}. */
  public static SettingSources of(Map<String, String> env, String configFile) {
    return new SettingSources(fromEnvironment(env), fromFile(configFile != null ? configFile : env.get(CONFIG_VARIABLE)));
  }

  Map<String, String> environment() {
    return environment;
  }

  Map<String, String> file() {
    return file;
  }

  private static Map<String, String> fromEnvironment(Map<String, String> env) {
    Map<String, String> out = new TreeMap<>();
    for (SettingKey key : SettingKey.values()) {
      String value = env.get(SettingKey.environmentName(key.key()));
      if (value != null) {
        out.put(key.key(), value);
      }
    }
    for (String key : dev.cutover.flags.RoutingFlags.SETTINGS) {
      String value = env.get(SettingKey.environmentName(key));
      if (value != null) {
        out.put(key, value);
      }
    }
    for (String name : env.keySet()) {
      if (name.startsWith("CUTOVER_") && !name.equals(CONFIG_VARIABLE) && !name.startsWith(REPLICATOR_PREFIX)
          && out.keySet().stream().noneMatch(k -> SettingKey.environmentName(k).equals(name))
          && IGNORED_VARIABLES.add(name)) {
        LOG.warn("environment variable {} matches no driver setting and is ignored by the driver", name);
      }
    }
    return out;
  }

  private static Map<String, String> fromFile(String path) {
    Properties p = new Properties();
    try {
      if (path != null) {
        Path file = Path.of(path);
        if (!Files.isReadable(file)) {
          throw new IllegalArgumentException(
              "Cutover configuration file " + path + " (from " + CONFIG_PROPERTY + " or " + CONFIG_VARIABLE
                  + ") does not exist or cannot be read");
        }
        try (InputStream in = Files.newInputStream(file)) {
          p.load(in);
        }
      } else {
        URL resource = classpathFile();
        if (resource == null) {
          return Map.of();
        }
        try (InputStream in = resource.openStream()) {
          p.load(in);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read Cutover configuration file " + path, e);
    }
    Map<String, String> out = new TreeMap<>();
    for (String name : p.stringPropertyNames()) {
      if (!name.startsWith(CutoverSettings.OURS)) {
        throw new IllegalArgumentException(
            "cutover.properties holds '" + name + "': only cutover.* settings belong there");
      }
      out.put(name, p.getProperty(name));
    }
    return out;
  }

  private static URL classpathFile() {
    ClassLoader context = Thread.currentThread().getContextClassLoader();
    URL url = context == null ? null : context.getResource("cutover.properties");
    return url != null ? url : SettingSources.class.getClassLoader().getResource("cutover.properties");
  }
}
