package dev.cutover.flags.launchdarkly;

import dev.cutover.flags.FlagKey;
import dev.cutover.flags.FlagSettings;
import dev.cutover.flags.RoutingFlags;
import dev.cutover.flags.Target;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.UUID;
import java.util.function.Function;

/**
 * The LaunchDarkly source's settings, validated when read. The SDK key is held here and nowhere
 * else; {@link #toString()} masks it and no error message contains it.
 */
record LaunchDarklySettings(
    String sdkKey,
    String flagKey,
    String service,
    String instance,
    String host,
    Target defaultTarget,
    URI relayUri,
    URI streamUri,
    URI pollingUri,
    URI eventsUri,
    boolean polling,
    Duration pollInterval,
    Duration reconnectDelay,
    Duration startWait,
    boolean sendEvents) {

  static final String SDK_KEY_ENV = "LD_SDK_KEY";

  /**
   * Reads the settings; {@code env} looks up environment variables (the SDK key's fallback).
   *
   * @throws IllegalArgumentException naming the key and the bad value (never the SDK key's value)
   */
  static LaunchDarklySettings from(FlagSettings settings, Function<String, String> env) {
    String sdkKey = settings.get(RoutingFlags.LD_SDK_KEY);
    if (sdkKey == null) {
      String fromEnv = env.apply(SDK_KEY_ENV);
      sdkKey = fromEnv == null || fromEnv.isBlank() ? null : fromEnv.trim();
    }
    if (sdkKey == null) {
      throw new IllegalArgumentException(
          RoutingFlags.LD_SDK_KEY
              + " (or the "
              + SDK_KEY_ENV
              + " environment variable) is required for "
              + RoutingFlags.PROVIDER
              + "=launchdarkly: the server-side SDK key of the LaunchDarkly environment");
    }
    if (!sdkKey.chars().allMatch(c -> c > ' ' && c < 127)) {
      throw new IllegalArgumentException(
          RoutingFlags.LD_SDK_KEY + " (or " + SDK_KEY_ENV + ") holds a character that is not printable ASCII:"
              + " check for a pasted space, accent or quote");
    }
    String instance = settings.get(RoutingFlags.INSTANCE);
    return new LaunchDarklySettings(
        sdkKey,
        settings.required(RoutingFlags.KEY, "the LaunchDarkly flag key that decides old or new"),
        settings.get(FlagKey.SERVICE),
        instance == null ? UUID.randomUUID().toString() : instance,
        localHost(),
        settings.target(FlagKey.DEFAULT),
        settings.uri(RoutingFlags.LD_RELAY_URI),
        settings.uri(RoutingFlags.LD_STREAM_URI),
        settings.uri(RoutingFlags.LD_POLLING_URI),
        settings.uri(RoutingFlags.LD_EVENTS_URI),
        settings.bool(FlagKey.LD_POLLING),
        settings.millis(FlagKey.LD_POLL_INTERVAL),
        settings.millis(FlagKey.LD_RECONNECT_DELAY),
        settings.millis(FlagKey.LD_START_WAIT),
        settings.bool(FlagKey.LD_EVENTS));
  }

  /** The container's host name when set, else the resolver's; never fails. */
  private static String localHost() {
    String fromEnv = System.getenv("HOSTNAME");
    if (fromEnv != null && !fromEnv.isBlank()) {
      return fromEnv.trim();
    }
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (UnknownHostException | SecurityException e) {
      return "unknown";
    }
  }

  @Override
  public String toString() {
    return "LaunchDarklySettings[sdkKey=****"
        + ", flagKey=" + flagKey
        + ", service=" + service
        + ", instance=" + instance
        + ", host=" + host
        + ", default=" + defaultTarget.value()
        + ", relayUri=" + relayUri
        + ", streamUri=" + streamUri
        + ", pollingUri=" + pollingUri
        + ", eventsUri=" + eventsUri
        + ", mode=" + (polling ? "polling every " + pollInterval.toMillis() + " ms" : "streaming")
        + ", reconnectDelay=" + reconnectDelay.toMillis() + " ms"
        + ", startWait=" + startWait.toMillis() + " ms"
        + ", events=" + sendEvents
        + "]";
  }
}
