package dev.cutover.flags.launchdarkly;

import com.launchdarkly.sdk.server.LDClient;
import com.launchdarkly.sdk.server.LDConfig;
import com.launchdarkly.sdk.server.interfaces.DataSourceStatusProvider;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The LaunchDarkly clients of this JVM: one per SDK key and connection settings, shared by every
 * flag that uses them, as LaunchDarkly recommends (one client per application: one stream, one
 * event queue, one set of threads). A client starts with the first flag that needs it and closes
 * with the last flag that used it, so that routers that close (a pool closed, an application
 * undeployed) leave no client reconnecting for the rest of the JVM.
 *
 * <p>Concurrency: a client starts (which waits for LaunchDarkly up to the start wait) holding only
 * its own entry, so flags of other keys never wait for it.
 */
final class LaunchDarklyClients {
  private static final Logger LOG = LoggerFactory.getLogger(LaunchDarklyClients.class);
  private static final Map<Key, Entry> ENTRIES = new ConcurrentHashMap<>();

  private LaunchDarklyClients() {}

  /**
   * What makes two flags' clients the same: everything that configures the client, never the flag
   * key, the context or the start wait (each flag waits for itself).
   *
   * @param tweak a test's change to the configuration, or {@code null}; compared by identity
   */
  private record Key(String sdkKey, URI relay, URI stream, URI polling, URI events, boolean usePolling,
      Duration pollInterval, Duration reconnectDelay, boolean sendEvents, Object tweak) {
    static Key of(LaunchDarklySettings s, UnaryOperator<LDConfig.Builder> tweak) {
      return new Key(s.sdkKey(), s.relayUri(), s.streamUri(), s.pollingUri(), s.eventsUri(), s.polling(),
          s.pollInterval(), s.reconnectDelay(), s.sendEvents(), tweak);
    }

    /** Masks the SDK key, like every other place that could print it. */
    @Override
    public String toString() {
      return "client[sdkKey=****, " + (usePolling ? "polling" : "streaming") + "]";
    }
  }

  /** One client and the flags that use it; its monitor guards its fields. */
  private static final class Entry {
    private LDClient client;
    private int uses;
    private boolean closed;
  }

  /** A use of a shared client; {@link #release} ends it (the last one closes the client). */
  record Lease(LDClient client, Runnable release) {}

  /**
   * A client for {@code settings}, started now with {@code configure}'s configuration if none runs,
   * and, when it has no data yet, waited for up to {@code startWait}.
   *
   * @param configure the client's configuration from the settings (used only when it starts)
   */
  static Lease acquire(LaunchDarklySettings settings, UnaryOperator<LDConfig.Builder> tweak,
      Function<LaunchDarklySettings, LDConfig> configure) {
    Key key = Key.of(settings, tweak);
    while (true) {
      Entry e = ENTRIES.computeIfAbsent(key, k -> new Entry());
      boolean started = false;
      synchronized (e) {
        if (e.closed) {
          continue; // closed between the lookup and the lock
        }
        if (e.client == null) {
          try {
            e.client = new LDClient(settings.sdkKey(), configure.apply(settings)); // waits up to the start wait
          } catch (RuntimeException failed) {
            e.closed = true;
            ENTRIES.remove(key, e);
            throw failed;
          }
          started = true;
        }
        e.uses++;
      }
      if (!started && !e.client.isInitialized()) {
        waitForData(e.client, settings.startWait());
      }
      Entry held = e;
      return new Lease(e.client, () -> release(key, held));
    }
  }

  private static void waitForData(LDClient client, Duration startWait) {
    try {
      client.getDataSourceStatusProvider().waitFor(DataSourceStatusProvider.State.VALID, startWait);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void release(Key key, Entry e) {
    LDClient closing;
    synchronized (e) {
      if (e.closed || --e.uses > 0) {
        return;
      }
      e.closed = true;
      ENTRIES.remove(key, e);
      closing = e.client;
    }
    try {
      closing.close();
    } catch (IOException failed) {
      LOG.warn("closing the LaunchDarkly {} failed", key, failed);
    }
  }

  /** How many clients run now. */
  static int running() {
    return ENTRIES.size();
  }
}
