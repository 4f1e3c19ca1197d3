package dev.cutover.flags.launchdarkly;

import com.launchdarkly.sdk.ContextKind;
import com.launchdarkly.sdk.EvaluationDetail;
import com.launchdarkly.sdk.EvaluationReason;
import com.launchdarkly.sdk.LDContext;
import com.launchdarkly.sdk.LDValue;
import com.launchdarkly.sdk.server.Components;
import com.launchdarkly.sdk.server.LDClient;
import com.launchdarkly.sdk.server.LDConfig;
import com.launchdarkly.sdk.server.integrations.ServiceEndpointsBuilder;
import com.launchdarkly.sdk.server.interfaces.DataSourceStatusProvider;
import com.launchdarkly.sdk.server.interfaces.FlagChangeListener;
import dev.cutover.common.Threads;
import dev.cutover.flags.DecidingFlag;
import dev.cutover.flags.Decision;
import dev.cutover.flags.FlagHealth;
import dev.cutover.flags.RoutingFlags;
import dev.cutover.flags.Target;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The routing decision as a LaunchDarkly flag serves it ({@code cutover.flag.provider=launchdarkly}),
 * read with LaunchDarkly's Java server SDK.
 *
 * <p>The flag is evaluated for a context of kind {@code service} whose key is {@code
 * cutover.service} and which carries the attributes {@code host} and {@code instanceId}, so that
 * LaunchDarkly can target one service, or one instance during a canary. A string flag answers
 * {@code old} or {@code new}; a boolean flag answers {@code false} (old) or {@code true} (new).
 * Any other value is a mistake: the current target stays, the value is logged once and counted in
 * {@link #rejectedValues()}.
 *
 * <p>An outage never moves traffic. Until LaunchDarkly delivers a first value the target is
 * {@code cutover.flag.default} ({@code old} unless set); while the connection is interrupted (503,
 * time-outs, malformed data) the last known value stands and the SDK retries; when LaunchDarkly
 * refuses the SDK key (401/403) the source is {@link FlagHealth#OFF} and the value it had stands
 * until the application restarts.
 *
 * <p>Settings, all optional except the flag key and the SDK key:
 *
 * <ul>
 *   <li>{@code cutover.flag.key}: the flag key.
 *   <li>{@code cutover.flag.ld.sdk-key}: the server-side SDK key; when absent, the {@code
 *       LD_SDK_KEY} environment variable. Never logged, never in messages.
 *   <li>{@code cutover.flag.default}: the target until a first value arrives; {@code old}.
 *   <li>{@code cutover.service}: the context key; {@code default}.
 *   <li>{@code cutover.instance}: the context's {@code instanceId} attribute; a random UUID.
 *   <li>{@code cutover.flag.ld.relay-uri}: base URI of a Relay Proxy, used for streaming, polling
 *       and events alike.
 *   <li>{@code cutover.flag.ld.stream-uri}, {@code cutover.flag.ld.polling-uri}, {@code
 *       cutover.flag.ld.events-uri}: base URIs of each service, overriding the relay URI; when
 *       you point the SDK anywhere but LaunchDarkly, set every one you use.
 *   <li>{@code cutover.flag.ld.polling}: {@code true} to poll instead of streaming; {@code false}.
 *   <li>{@code cutover.flag.ld.poll-interval}: ms between polls; 30000, which is also the SDK's
 *       minimum.
 *   <li>{@code cutover.flag.ld.reconnect-delay}: ms before the first reconnect of an interrupted
 *       stream (the SDK backs off from there); 1000.
 *   <li>{@code cutover.flag.ld.start-wait}: ms that opening waits for the first value; 5000. Zero
 *       opens at once on the default.
 *   <li>{@code cutover.flag.ld.events}: {@code false} to send no analytics events; {@code true}.
 * </ul>
 *
 * <p>Concurrency: {@link #target()} is a volatile read. The SDK announces changes on its own
 * single event thread; this source only takes note there and hands the evaluation and the
 * listeners to a single thread of its own, so a slow listener never delays the SDK, and listeners
 * hear changes in order, one at a time.
 */
public final class LaunchDarklyFlag extends DecidingFlag {
  private static final Logger LOG = LoggerFactory.getLogger(LaunchDarklyFlag.class);

  /** The context kind LaunchDarkly evaluates the flag for. */
  public static final String CONTEXT_KIND = "service";

  private static final long CLOSE_WAIT_MS = 2_000;

  private final String flagKey;
  private final LDContext context;
  private final Target defaultTarget;
  /** The client this flag shares with every flag of the same SDK key and connection settings. */
  private final LDClient client;
  private final LaunchDarklyClients.Lease lease;
  private final ExecutorService updates;
  private final Evaluations evaluations;
  private final FlagChangeListener changeListener = this::onFlagChange;
  private final DataSourceStatusProvider.StatusListener statusListener = this::onStatus;

  /** The last evaluation handled, so that a repeat is neither re-counted nor re-logged. */
  private String lastSeen; // update thread only

  private volatile DataSourceStatusProvider.State loggedState;
  private volatile boolean closed;

  private LaunchDarklyFlag(
      LaunchDarklySettings settings, LDContext context, LaunchDarklyClients.Lease lease, ExecutorService updates) {
    super(new Decision("LaunchDarkly flag " + settings.flagKey() + " for service " + settings.service(),
        settings.defaultTarget()));
    this.flagKey = settings.flagKey();
    this.context = context;
    this.defaultTarget = settings.defaultTarget();
    this.client = lease.client();
    this.lease = lease;
    this.updates = updates;
    this.evaluations = new Evaluations(client, flagKey);
  }

  static LaunchDarklyFlag open(LaunchDarklySettings settings) {
    return open(settings, null);
  }

  /**
   * Starts the SDK and waits up to the start wait for the first value.
   *
   * @param tweak adjusts the SDK configuration after the settings have been applied (tests), or
   *     {@code null}; a flag with a tweak shares its client only with flags of the same tweak
   */
  static LaunchDarklyFlag open(
      LaunchDarklySettings settings, UnaryOperator<LDConfig.Builder> tweak) {
    LDContext context = context(settings);
    LaunchDarklyClients.Lease lease;
    try {
      lease = LaunchDarklyClients.acquire(settings, tweak,
          s -> (tweak == null ? configure(s) : tweak.apply(configure(s))).build());
    } catch (RuntimeException e) {
      throw new IllegalStateException(
          "the LaunchDarkly client for flag " + settings.flagKey() + " could not start", e);
    }
    ExecutorService updates = Executors.newSingleThreadExecutor(Threads.daemon("cutover-flag-" + settings.flagKey()));
    LaunchDarklyFlag flag = new LaunchDarklyFlag(settings, context, lease, updates);
    flag.start(settings);
    return flag;
  }

  private static LDContext context(LaunchDarklySettings settings) {
    LDContext context =
        LDContext.builder(ContextKind.of(CONTEXT_KIND), settings.service())
            .set("host", settings.host())
            .set("instanceId", settings.instance())
            .build();
    if (!context.isValid()) {
      throw new IllegalArgumentException(
          RoutingFlags.SERVICE
              + "="
              + settings.service()
              + " is not a valid LaunchDarkly context key: "
              + context.getError());
    }
    return context;
  }

  private static LDConfig.Builder configure(LaunchDarklySettings settings) {
    LDConfig.Builder config = new LDConfig.Builder();
    if (settings.relayUri() != null
        || settings.streamUri() != null
        || settings.pollingUri() != null
        || settings.eventsUri() != null) {
      ServiceEndpointsBuilder endpoints = Components.serviceEndpoints();
      // The relay sets all three; a specific URI set after it overrides its part.
      if (settings.relayUri() != null) {
        endpoints.relayProxy(settings.relayUri());
      }
      if (settings.streamUri() != null) {
        endpoints.streaming(settings.streamUri());
      }
      if (settings.pollingUri() != null) {
        endpoints.polling(settings.pollingUri());
      }
      if (settings.eventsUri() != null) {
        endpoints.events(settings.eventsUri());
      }
      config.serviceEndpoints(endpoints);
    }
    if (settings.polling()) {
      config.dataSource(Components.pollingDataSource().pollInterval(settings.pollInterval()));
    } else {
      config.dataSource(
          Components.streamingDataSource().initialReconnectDelay(settings.reconnectDelay()));
    }
    config.events(settings.sendEvents() ? Components.sendEvents() : Components.noEvents());
    config.startWait(settings.startWait());
    return config;
  }

  private void start(LaunchDarklySettings settings) {
    // Listen first, then read: a change that lands in between is then seen twice, never missed.
    client.getFlagTracker().addFlagChangeListener(changeListener);
    client.getDataSourceStatusProvider().addStatusListener(statusListener);
    try {
      updates.submit(this::refresh).get(settings.startWait().toMillis() + 1_000, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException e) {
      LOG.error("the first evaluation of LaunchDarkly flag {} failed", flagKey, e);
    }
    if (client.isInitialized()) {
      LOG.info("{} opened: target {} ({})", this, decision.target().value(), settings);
    } else {
      LOG.warn(
          "LaunchDarkly delivered no data for flag {} within {} ms ({}); routing to {} until it"
              + " does ({})",
          flagKey,
          settings.startWait().toMillis(),
          status(),
          decision.target().value(),
          settings);
    }
  }

  /** On the SDK's event thread: only take note and hand off. */
  private void onFlagChange(com.launchdarkly.sdk.server.interfaces.FlagChangeEvent event) {
    if (flagKey.equals(event.getKey())) {
      evaluations.invalidate();
      scheduleRefresh();
    }
  }

  /** On the SDK's event thread: log state changes; a (re)connection may bring a new value. */
  private void onStatus(DataSourceStatusProvider.Status status) {
    DataSourceStatusProvider.State state = status.getState();
    if (state != loggedState) {
      loggedState = state;
      logStatus(status);
    }
    if (state == DataSourceStatusProvider.State.VALID) {
      evaluations.invalidate();
      scheduleRefresh();
    }
  }

  private void logStatus(DataSourceStatusProvider.Status status) {
    switch (status.getState()) {
      case VALID:
        LOG.info("LaunchDarkly connection for flag {} is valid", flagKey);
        break;
      case OFF:
        LOG.error(
            "LaunchDarkly connection for flag {} is off ({}); keeping target {} until restarted",
            flagKey,
            describe(status.getLastError()),
            decision.target().value());
        break;
      default:
        LOG.warn(
            "LaunchDarkly connection for flag {} is {} ({}); keeping target {} while the SDK"
                + " retries",
            flagKey,
            status.getState(),
            describe(status.getLastError()),
            decision.target().value());
        break;
    }
  }

  private void scheduleRefresh() {
    if (closed) {
      return;
    }
    try {
      updates.execute(this::refresh);
    } catch (RejectedExecutionException e) {
      // closed concurrently; nothing left to tell
    }
  }

  /** On the update thread: evaluate for our context and adopt, reject or note the answer. */
  private void refresh() {
    if (closed) {
      return;
    }
    EvaluationDetail<LDValue> detail = evaluations.get(context);
    Reading reading = read(detail);
    if (reading.seen().equals(lastSeen)) {
      return;
    }
    lastSeen = reading.seen();
    if (reading.target() != null) {
      decision.adopt(reading.target());
    } else if (reading.rejected() != null) {
      decision.reject(reading.rejected(), reading.why());
    } else if (reading.why() != null && decision.warnOnce("note:" + reading.why())) {
      LOG.warn("{}: {}; keeping target {}", this, reading.why(), decision.target().value());
    }
  }

  /**
   * What an evaluation means for routing: a target, a rejected value, or no value at all (with a
   * note when that deserves one).
   */
  private record Reading(String seen, Target target, String rejected, String why) {}

  private Reading read(EvaluationDetail<LDValue> detail) {
    EvaluationReason reason = detail.getReason();
    if (reason != null && reason.getKind() == EvaluationReason.Kind.ERROR) {
      EvaluationReason.ErrorKind error = reason.getErrorKind();
      String seen = "error:" + error;
      switch (error) {
        case CLIENT_NOT_READY:
          return new Reading(seen, null, null, null); // the status says why
        case FLAG_NOT_FOUND:
          return new Reading(
              seen, null, null, "the flag does not exist in this LaunchDarkly environment");
        case MALFORMED_FLAG:
          return new Reading(
              seen, null, "a malformed flag", "LaunchDarkly could not evaluate its rules");
        default:
          return new Reading(seen, null, null, "LaunchDarkly could not evaluate it: " + error);
      }
    }
    LDValue value = detail.getValue() == null ? LDValue.ofNull() : detail.getValue();
    String json = value.toJsonString();
    switch (value.getType()) {
      case BOOLEAN:
        return new Reading(json, value.booleanValue() ? Target.NEW : Target.OLD, null, null);
      case STRING:
        try {
          return new Reading(json, Target.parse(value.stringValue()), null, null);
        } catch (IllegalArgumentException e) {
          return new Reading(json, null, json, "use old or new, or false / true");
        }
      default:
        return new Reading(json, null, json, "expected a string or a boolean");
    }
  }

  /**
   * What LaunchDarkly currently answers for another context, for tools that show which services
   * would move. Answers are cached per context until the flag changes; nothing is counted or
   * logged, and this flag's own target is not affected.
   *
   * @return empty when LaunchDarkly has no routing value for that context (not connected yet, no
   *     such flag, or a value that is not a routing target)
   */
  public Optional<Target> targetFor(LDContext other) {
    return Optional.ofNullable(read(evaluations.get(other)).target());
  }

  /** The context this flag is evaluated for: kind {@code service}, key {@code cutover.service}. */
  public LDContext context() {
    return context;
  }

  /** The target used until LaunchDarkly delivers a value ({@code cutover.flag.default}). */
  public Target defaultTarget() {
    return defaultTarget;
  }

  /**
   * Maps the SDK's data source state: {@code VALID} is {@link FlagHealth#VALID}; {@code
   * INITIALIZING} before the first data (the SDK is trying) and {@code INTERRUPTED} are {@link
   * FlagHealth#INTERRUPTED}; {@code OFF} (for example a refused SDK key) and a closed source are
   * {@link FlagHealth#OFF}.
   */
  @Override
  public FlagHealth health() {
    if (closed) {
      return FlagHealth.OFF;
    }
    switch (client.getDataSourceStatusProvider().getStatus().getState()) {
      case VALID:
        return FlagHealth.VALID;
      case OFF:
        return FlagHealth.OFF;
      case INITIALIZING:
        // The SDK marks itself initialized a moment before it publishes VALID: data is there.
        return client.isInitialized() ? FlagHealth.VALID : FlagHealth.INTERRUPTED;
      default:
        return FlagHealth.INTERRUPTED;
    }
  }

  /**
   * The SDK's connection state in words, with its last error (kind, HTTP status, message, time),
   * for logs and metrics labels; for example {@code INTERRUPTED since 2026-11-21T10:15:30Z, last
   * error ERROR_RESPONSE HTTP 503 at 2026-11-21T10:15:30Z}.
   */
  public String status() {
    DataSourceStatusProvider.Status status = client.getDataSourceStatusProvider().getStatus();
    return status.getState()
        + " since "
        + status.getStateSince()
        + (status.getLastError() == null ? "" : ", last error " + describe(status.getLastError()));
  }

  private static String describe(DataSourceStatusProvider.ErrorInfo error) {
    if (error == null) {
      return "no error";
    }
    StringBuilder text = new StringBuilder().append(error.getKind());
    if (error.getStatusCode() > 0) {
      text.append(" HTTP ").append(error.getStatusCode());
    }
    if (error.getMessage() != null && !error.getMessage().isBlank()) {
      text.append(": ").append(error.getMessage());
    }
    return text.append(" at ").append(error.getTime()).toString();
  }

  /**
   * Stops listening and ends the update thread; the SDK client closes when no other flag uses it.
   * The target keeps its last value.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    client.getFlagTracker().removeFlagChangeListener(changeListener);
    client.getDataSourceStatusProvider().removeStatusListener(statusListener);
    lease.release().run();
    updates.shutdown();
    try {
      if (!updates.awaitTermination(CLOSE_WAIT_MS, TimeUnit.MILLISECONDS)) {
        LOG.warn("a listener of LaunchDarkly flag {} did not return within {} ms of close",
            flagKey, CLOSE_WAIT_MS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public String toString() {
    return "LaunchDarklyFlag["
        + flagKey
        + " for "
        + CONTEXT_KIND
        + " "
        + context.getKey()
        + "="
        + decision.target().value()
        + ", "
        + health()
        + "]";
  }
}
