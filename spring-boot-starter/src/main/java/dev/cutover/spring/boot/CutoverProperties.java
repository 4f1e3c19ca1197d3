package dev.cutover.spring.boot;

import dev.cutover.common.Durations;
import dev.cutover.common.Identifiers;
import dev.cutover.flags.Target;
import java.net.URI;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The driver's settings as Spring Boot binds them from {@code cutover.*} in application.properties,
 * YAML or the environment: typed (durations in the driver's syntax, {@code 5s} or {@code 5000} milliseconds, targets as {@code old}/{@code new}),
 * unknown keys refused at start-up. Those set anywhere but the process's environment variables are
 * handed to every data source whose URL is {@code jdbc:cutover:} as JDBC properties; the driver reads
 * {@code CUTOVER_*} variables itself, so its defaults, its {@code cutover.properties} file and its
 * environment variables keep their documented order, and a secret given as a variable never becomes
 * a data source property (HikariCP logs those at DEBUG). docs/driver.md describes each setting.
 */
@ConfigurationProperties(prefix = "cutover", ignoreUnknownFields = false)
public class CutoverProperties {
  /** The service's name: the flag's context key, the MBean and log name. Default: default. */
  private String service;

  /** This instance's id among the service's instances. Default: host:pid:n. */
  private String instance;

  private final Old oldDatabase = new Old();
  private final New newDatabase = new New();
  private final Session session = new Session();
  private final Drain drain = new Drain();
  private final Barrier barrier = new Barrier();
  private final Gate gate = new Gate();
  private final Sequence sequence = new Sequence();
  private final Switch switchSettings = new Switch();
  private final Router router = new Router();
  private final Flag flag = new Flag();

  public String getService() {
    return service;
  }

  public void setService(String service) {
    this.service = service == null ? null : Identifiers.trimmed("cutover.service", service, "'default'");
  }

  public String getInstance() {
    return instance;
  }

  public void setInstance(String instance) {
    this.instance = instance == null ? null : Identifiers.trimmed("cutover.instance", instance, "a generated id");
  }

  /** The database moved from (its URL and credentials are spring.datasource's). */
  public Old getOld() {
    return oldDatabase;
  }

  /** The database to move to. */
  public New getNew() {
    return newDatabase;
  }

  public Session getSession() {
    return session;
  }

  public Drain getDrain() {
    return drain;
  }

  public Barrier getBarrier() {
    return barrier;
  }

  public Gate getGate() {
    return gate;
  }

  public Sequence getSequence() {
    return sequence;
  }

  public Switch getSwitch() {
    return switchSettings;
  }

  public Router getRouter() {
    return router;
  }

  public Flag getFlag() {
    return flag;
  }

  /** The settings that were set, under the driver's keys, as the driver reads them. */
  public Map<String, String> toDriverSettings() {
    Map<String, String> s = new LinkedHashMap<>();
    put(s, "cutover.service", service);
    put(s, "cutover.instance", instance);
    put(s, "cutover.new.url", newDatabase.url);
    put(s, "cutover.new.user", newDatabase.user);
    put(s, "cutover.new.password", newDatabase.password);
    put(s, "cutover.old.direct-url", oldDatabase.directUrl);
    put(s, "cutover.new.direct-url", newDatabase.directUrl);
    put(s, "cutover.session.custom-settings", session.customSettings);
    put(s, "cutover.drain.timeout", drain.timeout);
    put(s, "cutover.barrier.timeout", barrier.timeout);
    put(s, "cutover.gate.max-pause", gate.maxPause);
    put(s, "cutover.sequence.margin", sequence.margin);
    put(s, "cutover.switch.force", switchSettings.force);
    put(s, "cutover.switch.retry-interval", switchSettings.retryInterval);
    put(s, "cutover.router.linger", router.linger);
    put(s, "cutover.flag.provider", flag.provider);
    put(s, "cutover.flag.value", flag.value);
    put(s, "cutover.flag.key", flag.key);
    put(s, "cutover.flag.file", flag.file);
    put(s, "cutover.flag.default", flag.defaultTarget);
    Flag.Ld ld = flag.ld;
    put(s, "cutover.flag.ld.sdk-key", ld.sdkKey);
    put(s, "cutover.flag.ld.relay-uri", ld.relayUri);
    put(s, "cutover.flag.ld.stream-uri", ld.streamUri);
    put(s, "cutover.flag.ld.polling-uri", ld.pollingUri);
    put(s, "cutover.flag.ld.events-uri", ld.eventsUri);
    put(s, "cutover.flag.ld.polling", ld.polling);
    put(s, "cutover.flag.ld.poll-interval", ld.pollInterval);
    put(s, "cutover.flag.ld.reconnect-delay", ld.reconnectDelay);
    put(s, "cutover.flag.ld.start-wait", ld.startWait);
    put(s, "cutover.flag.ld.events", ld.events);
    return s;
  }

  /**
   * Checks a duration as the driver will read it ({@link Durations}: a bare number is milliseconds)
   * rather than by Spring's own conversion, which reads {@code 1d}, {@code PT5S} and {@code -5s} and
   * refuses {@code 1.5m}; a bad value fails the binding, naming {@code key}. The text is handed on
   * as written.
   */
  static String duration(String key, String value, boolean positive) {
    if (value != null) {
      if (positive) {
        Durations.positive(key, value);
      } else {
        Durations.parse(key, value);
      }
    }
    return value;
  }

  /** Targets go as old/new, everything else as text. */
  private static void put(Map<String, String> s, String key, Object value) {
    if (value == null) {
      return;
    }
    String text;
    if (value instanceof Target t) {
      text = t.value();
    } else {
      text = value.toString();
    }
    s.put(key, text);
  }

  /** {@code cutover.old.*}: the database moved from. */
  public static class Old {
    /** jdbc:postgresql: URL of old itself when the application reaches it through a pooler: the switch's own sessions go there. */
    private String directUrl;

    public String getDirectUrl() {
      return directUrl;
    }

    public void setDirectUrl(String directUrl) {
      this.directUrl = directUrl;
    }
  }

  /** {@code cutover.session.*}: what a session carries when it moves. */
  public static class Session {
    /** Custom settings (app.tenant_id,app.user) carried besides those the driver finds itself. */
    private String customSettings;

    public String getCustomSettings() {
      return customSettings;
    }

    public void setCustomSettings(String customSettings) {
      this.customSettings = customSettings;
    }
  }

  /** {@code cutover.new.*}: the database to move to. */
  public static class New {
    /** jdbc:postgresql: URL of the database to move to. Required (here, in the URL or in cutover.properties). */
    private String url;

    /** Role on the new database. Default: the old side's (spring.datasource.username). */
    private String user;

    /** Password on the new database. Default: the old side's. */
    private String password;

    /** jdbc:postgresql: URL of new itself when the application reaches it through a pooler: the switch's own sessions go there. */
    private String directUrl;

    public String getDirectUrl() {
      return directUrl;
    }

    public void setDirectUrl(String directUrl) {
      this.directUrl = directUrl;
    }

    public String getUrl() {
      return url;
    }

    public void setUrl(String url) {
      this.url = url;
    }

    public String getUser() {
      return user;
    }

    public void setUser(String user) {
      this.user = user;
    }

    public String getPassword() {
      return password;
    }

    public void setPassword(String password) {
      this.password = password;
    }
  }

  /** {@code cutover.drain.*}. */
  public static class Drain {
    /** How long in-flight transactions may run after a flip before they are rolled back (40001). Default: 5s. */
    private String timeout;

    public String getTimeout() {
      return timeout;
    }

    public void setTimeout(String timeout) {
      this.timeout = duration("cutover.drain.timeout", timeout, true);
    }
  }

  /** {@code cutover.barrier.*}. */
  public static class Barrier {
    /** How long the barrier marker may take to replicate before the switch aborts. Default: 10s. */
    private String timeout;

    public String getTimeout() {
      return timeout;
    }

    public void setTimeout(String timeout) {
      this.timeout = duration("cutover.barrier.timeout", timeout, true);
    }
  }

  /** {@code cutover.gate.*}. */
  public static class Gate {
    /** The longest a transaction waits at the gate before it gets 40001. Default: drain + barrier + 5s. */
    private String maxPause;

    public String getMaxPause() {
      return maxPause;
    }

    public void setMaxPause(String maxPause) {
      this.maxPause = duration("cutover.gate.max-pause", maxPause, true);
    }
  }

  /** {@code cutover.sequence.*}. */
  public static class Sequence {
    /** Increments by which each sequence on the target is moved past the source. Default: 1000. */
    private Long margin;

    public Long getMargin() {
      return margin;
    }

    public void setMargin(Long margin) {
      this.margin = margin;
    }
  }

  /** {@code cutover.switch.*}. */
  public static class Switch {
    /** Switch without proof that replication delivered (no probe, no barrier): for emergencies. Default: false. */
    private Boolean force;

    /**
     * How often a switch refused before it began (replication not delivering, the target unreachable) is tried
     * again while the flag still asks for it. Default: 10s.
     */
    private String retryInterval;

    public Boolean getForce() {
      return force;
    }

    public void setForce(Boolean force) {
      this.force = force;
    }

    public String getRetryInterval() {
      return retryInterval;
    }

    public void setRetryInterval(String retryInterval) {
      this.retryInterval = duration("cutover.switch.retry-interval", retryInterval, true);
    }
  }

  /** {@code cutover.router.*}. */
  public static class Router {
    /** How long a router (flag client, heartbeat, warm connections) outlives its last connection. Default: 30s. */
    private String linger;

    public String getLinger() {
      return linger;
    }

    public void setLinger(String linger) {
      this.linger = duration("cutover.router.linger", linger, true);
    }
  }

  /** {@code cutover.flag.*}: where the routing decision comes from. */
  public static class Flag {
    /**
     * launchdarkly (needs cutover-flags-launchdarkly), file, fixed, manual or none. Default: none:
     * the instance serves where its service serves and never leads a switch.
     */
    private String provider;

    /** The target of the fixed provider: old or new. Default: old. */
    private Target value;

    /** The LaunchDarkly flag key, or the name of a manual flag. */
    private String key;

    /** The file the file provider watches; it holds old or new. */
    private String file;

    /** The target until the flag source delivers its first value: old or new. Default: old. */
    private Target defaultTarget;

    private final Ld ld = new Ld();

    public String getProvider() {
      return provider;
    }

    public void setProvider(String provider) {
      this.provider = provider;
    }

    public Target getValue() {
      return value;
    }

    public void setValue(Target value) {
      this.value = value;
    }

    public String getKey() {
      return key;
    }

    public void setKey(String key) {
      this.key = key;
    }

    public String getFile() {
      return file;
    }

    public void setFile(String file) {
      this.file = file;
    }

    /** The target until the flag source delivers its first value: old or new. Default: old. */
    public Target getDefault() {
      return defaultTarget;
    }

    public void setDefault(Target defaultTarget) {
      this.defaultTarget = defaultTarget;
    }

    public Ld getLd() {
      return ld;
    }

    /** {@code cutover.flag.ld.*}: the LaunchDarkly SDK. */
    public static class Ld {
      /** Server-side SDK key; default: the LD_SDK_KEY environment variable. Never logged. */
      private String sdkKey;

      /** Base URI of a LaunchDarkly Relay Proxy, for streaming, polling and events. */
      private URI relayUri;

      /** Base URI of the streaming service, overriding the relay URI. */
      private URI streamUri;

      /** Base URI of the polling service, overriding the relay URI. */
      private URI pollingUri;

      /** Base URI of the events service, overriding the relay URI. */
      private URI eventsUri;

      /** Poll instead of streaming. Default: false. */
      private Boolean polling;

      /** Time between polls; at least 30s (the SDK's minimum). Default: 30s. */
      private String pollInterval;

      /** Wait before the first reconnect of an interrupted stream (the SDK backs off from there). Default: 1s. */
      private String reconnectDelay;

      /** How long opening the flag waits for its first value; 0 opens at once on the default. Default: 5s. */
      private String startWait;

      /** Send analytics events to LaunchDarkly. Default: true. */
      private Boolean events;

      public String getSdkKey() {
        return sdkKey;
      }

      public void setSdkKey(String sdkKey) {
        this.sdkKey = sdkKey;
      }

      public URI getRelayUri() {
        return relayUri;
      }

      public void setRelayUri(URI relayUri) {
        this.relayUri = relayUri;
      }

      public URI getStreamUri() {
        return streamUri;
      }

      public void setStreamUri(URI streamUri) {
        this.streamUri = streamUri;
      }

      public URI getPollingUri() {
        return pollingUri;
      }

      public void setPollingUri(URI pollingUri) {
        this.pollingUri = pollingUri;
      }

      public URI getEventsUri() {
        return eventsUri;
      }

      public void setEventsUri(URI eventsUri) {
        this.eventsUri = eventsUri;
      }

      public Boolean getPolling() {
        return polling;
      }

      public void setPolling(Boolean polling) {
        this.polling = polling;
      }

      public String getPollInterval() {
        return pollInterval;
      }

      public void setPollInterval(String pollInterval) {
        this.pollInterval = duration("cutover.flag.ld.poll-interval", pollInterval, false);
      }

      public String getReconnectDelay() {
        return reconnectDelay;
      }

      public void setReconnectDelay(String reconnectDelay) {
        this.reconnectDelay = duration("cutover.flag.ld.reconnect-delay", reconnectDelay, false);
      }

      public String getStartWait() {
        return startWait;
      }

      public void setStartWait(String startWait) {
        this.startWait = duration("cutover.flag.ld.start-wait", startWait, false);
      }

      public Boolean getEvents() {
        return events;
      }

      public void setEvents(Boolean events) {
        this.events = events;
      }
    }
  }
}
