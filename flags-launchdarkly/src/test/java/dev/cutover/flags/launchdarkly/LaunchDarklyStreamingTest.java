package dev.cutover.flags.launchdarkly;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.wireMockConfig;
import static com.github.tomakehurst.wiremock.stubbing.Scenario.STARTED;
import static dev.cutover.flags.launchdarkly.LaunchDarklyPayloads.FLAG_KEY;
import static dev.cutover.flags.launchdarkly.LaunchDarklyPayloads.boolFlag;
import static dev.cutover.flags.launchdarkly.LaunchDarklyPayloads.numberFlag;
import static dev.cutover.flags.launchdarkly.LaunchDarklyPayloads.put;
import static dev.cutover.flags.launchdarkly.LaunchDarklyPayloads.stringFlag;
import static dev.cutover.flags.launchdarkly.LaunchDarklyPayloads.targetedFlag;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.cutover.flags.RoutingFlags;
import dev.cutover.flags.Target;
import dev.cutover.flags.Decision;
import dev.cutover.flags.FlagHealth;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.github.tomakehurst.wiremock.client.MappingBuilder;
import com.github.tomakehurst.wiremock.client.ResponseDefinitionBuilder;
import com.github.tomakehurst.wiremock.http.Fault;
import com.github.tomakehurst.wiremock.junit5.WireMockExtension;
import com.launchdarkly.sdk.ContextKind;
import com.launchdarkly.sdk.LDContext;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.LoggerFactory;

/**
 * The real LaunchDarkly SDK, streaming over HTTP from a LaunchDarkly stand-in served by WireMock.
 *
 * <p>WireMock ends every response, so each {@code GET /all} delivers one {@code put} event and
 * closes the stream; the SDK reconnects after the reconnect delay (50 ms here, doubling with
 * jitter), and WireMock scenario states or a newer stub decide what the next connection gets.
 *
 * <p>Each test has an SDK key of its own, and the stand-in answers only that key: a closed client
 * of the test before may still send one last request, and had it matched, it would have taken the
 * response (and the scenario step) meant for this test's client.
 */
class LaunchDarklyStreamingTest {
  private static final AtomicInteger TESTS = new AtomicInteger();
  private static final String SCENARIO = "flag";

  @RegisterExtension
  static final WireMockExtension STAND_IN =
      WireMockExtension.newInstance().options(wireMockConfig().dynamicPort()).build();

  private final String sdkKey = "sdk-streaming-test-secret-" + TESTS.incrementAndGet();
  private final List<Target> heard = new CopyOnWriteArrayList<>();
  private final List<Long> heardAtNanos = new CopyOnWriteArrayList<>();
  private LaunchDarklyFlag flag;

  @AfterEach
  void closeFlag() {
    if (flag != null) {
      flag.close();
    }
  }

  @Test
  void open_streamServesNew_targetIsNew() {
    serveStream(event(put(stringFlag(1, "new"))));

    open();

    assertThat(flag.target()).isEqualTo(Target.NEW);
    assertThat(flag.rejectedValues()).isZero();
    STAND_IN.verify(
        getRequestedFor(urlPathEqualTo("/all"))
            .withHeader("Authorization", equalTo(sdkKey))
            .withHeader("Accept", equalTo("text/event-stream")));
  }

  @Test
  void open_booleanFlagTrue_targetIsNew() {
    serveStream(event(put(boolFlag(1, true))));

    open();

    assertThat(flag.target()).isEqualTo(Target.NEW);
  }

  @Test
  void open_booleanFlagFalseWithDefaultNew_targetIsOld() {
    serveStream(event(put(boolFlag(1, false))));

    open(RoutingFlags.DEFAULT, "new");

    assertThat(flag.target()).isEqualTo(Target.OLD);
  }

  @Test
  void stream_changesToNew_listenerHearsNew() {
    serveStream(event(put(stringFlag(1, "old"))));
    open();
    assertThat(flag.target()).isEqualTo(Target.OLD);
    flag.addListener(this::hear);

    long changedAt = System.nanoTime();
    serveStream(event(put(stringFlag(2, "new"))));

    await().atMost(Duration.ofSeconds(10)).until(() -> heard.contains(Target.NEW));
    long millis = (heardAtNanos.get(0) - changedAt) / 1_000_000;
    System.out.printf(
        "LaunchDarkly stand-in (WireMock, stream reconnect): change reached the listener in %d ms%n",
        millis);
    assertThat(heard).containsExactly(Target.NEW);
    assertThat(flag.target()).isEqualTo(Target.NEW);
  }

  @Test
  void stream_listenerIsCalledOffTheSdkThread() {
    serveStream(event(put(stringFlag(1, "old"))));
    open();
    List<String> threads = new CopyOnWriteArrayList<>();
    flag.addListener(target -> threads.add(Thread.currentThread().getName()));

    serveStream(event(put(stringFlag(2, "new"))));

    await().atMost(Duration.ofSeconds(10)).until(() -> !threads.isEmpty());
    assertThat(threads).containsExactly("cutover-flag-" + FLAG_KEY);
  }

  @Test
  void open_sdkKeyRefused401_offAndDefaultKept() {
    serveStream(aResponse().withStatus(401));

    open(RoutingFlags.DEFAULT, "new");

    assertThat(flag.health()).isEqualTo(FlagHealth.OFF);
    assertThat(flag.target()).isEqualTo(Target.NEW);
    assertThat(flag.status()).contains("OFF").contains("HTTP 401").doesNotContain(sdkKey);
    assertThat(flag.toString()).doesNotContain(sdkKey);
  }

  @Test
  void stream_refused401AfterValue_offAndLastValueKept() {
    serveInSequence(event(put(stringFlag(1, "new"))), aResponse().withStatus(401));
    open();
    // The value first: on a loaded host open() may return before it, and the listener would hear it.
    await().atMost(Duration.ofSeconds(10)).until(() -> flag.target() == Target.NEW);
    flag.addListener(this::hear);

    await().atMost(Duration.ofSeconds(10)).until(() -> flag.health() == FlagHealth.OFF);

    assertThat(flag.target()).isEqualTo(Target.NEW);
    assertThat(heard).isEmpty();
  }

  @Test
  void stream_503AfterValue_lastValueKeptAndInterrupted() {
    serveInSequence(event(put(stringFlag(1, "new"))), aResponse().withStatus(503));
    open();
    flag.addListener(this::hear);

    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> flag.health() == FlagHealth.INTERRUPTED && flag.status().contains("HTTP 503"));
    await()
        .during(Duration.ofMillis(800))
        .atMost(Duration.ofSeconds(3))
        .until(() -> flag.target() == Target.NEW && flag.health() == FlagHealth.INTERRUPTED);

    assertThat(heard).isEmpty();
    assertThat(requestsForStream())
        .as("the SDK keeps retrying after a 503")
        .isGreaterThanOrEqualTo(3);
  }

  @Test
  void stream_malformedJsonAfterValue_lastValueKeptAndInterrupted() {
    serveInSequence(
        event(put(stringFlag(1, "new"))),
        event("event: put\ndata: {\"path\":\"/\",\"data\":{\"flags\":{\"" + FLAG_KEY + "\":{\n\n"));
    open();
    flag.addListener(this::hear);

    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> flag.status().contains("INVALID_DATA"));
    await()
        .during(Duration.ofMillis(500))
        .atMost(Duration.ofSeconds(3))
        .until(() -> flag.target() == Target.NEW);

    assertThat(flag.health()).isNotEqualTo(FlagHealth.VALID);
    assertThat(heard).isEmpty();
  }

  @Test
  void stream_connectionResetAfterValue_lastValueKeptAndInterrupted() {
    serveInSequence(
        event(put(stringFlag(1, "new"))),
        aResponse().withFault(Fault.CONNECTION_RESET_BY_PEER));
    open();
    flag.addListener(this::hear);

    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> flag.status().contains("NETWORK_ERROR"));
    await()
        .during(Duration.ofMillis(500))
        .atMost(Duration.ofSeconds(3))
        .until(() -> flag.target() == Target.NEW && flag.health() == FlagHealth.INTERRUPTED);

    assertThat(heard).isEmpty();
  }

  @Test
  void open_standInUnreachable_defaultAfterStartWait() {
    Map<String, String> settings = settings();
    settings.put(RoutingFlags.LD_STREAM_URI, "http://127.0.0.1:9"); // discard port: refused
    settings.put(RoutingFlags.LD_START_WAIT, "300");
    settings.put(RoutingFlags.DEFAULT, "new");

    flag = (LaunchDarklyFlag) RoutingFlags.open(settings);

    assertThat(flag.target()).isEqualTo(Target.NEW);
    assertThat(flag.health()).isEqualTo(FlagHealth.INTERRUPTED);
  }

  @Test
  void stream_flapsOldNewOld_lastValueDelivered() {
    serveInSequence(
        event(put(stringFlag(1, "old"))),
        event(put(stringFlag(2, "new"))),
        event(put(stringFlag(3, "old"))));
    open();
    flag.addListener(this::hear);

    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> requestsForStream() >= 4 && flag.target() == Target.OLD);

    System.out.println("flapping old -> new -> old: the listener heard " + heard);
    assertThat(flag.target()).isEqualTo(Target.OLD);
    if (!heard.isEmpty()) {
      assertThat(heard.get(heard.size() - 1)).isEqualTo(Target.OLD);
    }
    for (int i = 1; i < heard.size(); i++) {
      assertThat(heard.get(i)).as("each call is a change").isNotEqualTo(heard.get(i - 1));
    }
  }

  @Test
  void open_valueNotATarget_keepsDefaultCountsAndLogsOnce() {
    ListAppender<ILoggingEvent> log = captureDecisionLog();
    try {
      serveStream(event(put(stringFlag(1, "maybe", "maybe"))));

      open(RoutingFlags.DEFAULT, "new");
      // Every reconnect delivers the same bad value again: it must not be counted or logged twice.
      await().atMost(Duration.ofSeconds(10)).until(() -> requestsForStream() >= 3);

      assertThat(flag.target()).isEqualTo(Target.NEW);
      assertThat(flag.rejectedValues()).isEqualTo(1);
      assertThat(log.list)
          .filteredOn(e -> e.getFormattedMessage().contains("\"maybe\""))
          .hasSize(1);
    } finally {
      releaseDecisionLog(log);
    }
  }

  @Test
  void stream_numberThenNew_numberRejectedThenNewAdopted() {
    serveStream(event(put(numberFlag(1, 42))));
    open();
    assertThat(flag.rejectedValues()).isEqualTo(1);
    assertThat(flag.target()).isEqualTo(Target.OLD);
    flag.addListener(this::hear);

    serveStream(event(put(stringFlag(2, "new"))));

    await().atMost(Duration.ofSeconds(10)).until(() -> heard.contains(Target.NEW));
    assertThat(flag.rejectedValues()).isEqualTo(1);
  }

  @Test
  void open_flagMissingInEnvironment_keepsDefault() {
    serveStream(event("event: put\ndata: {\"path\":\"/\",\"data\":{\"flags\":{},\"segments\":{}}}\n\n"));

    open(RoutingFlags.DEFAULT, "new");

    assertThat(flag.target()).isEqualTo(Target.NEW);
    assertThat(flag.rejectedValues()).isZero();
  }

  @Test
  void open_instanceTargetedByRule_targetIsNew() {
    serveStream(event(put(targetedFlag(1, "billing", "canary-1"))));

    open(RoutingFlags.SERVICE, "booking", RoutingFlags.INSTANCE, "canary-1");

    assertThat(flag.target()).isEqualTo(Target.NEW);
    assertThat(flag.context().getKind().toString()).isEqualTo("service");
    assertThat(flag.context().getValue("instanceId").stringValue()).isEqualTo("canary-1");
    assertThat(flag.context().getValue("host").isString()).isTrue();
  }

  @Test
  void targetFor_serviceTargetedByKey_answersPerContext() {
    serveStream(event(put(targetedFlag(1, "billing", "canary-1"))));
    open(RoutingFlags.SERVICE, "booking");

    LDContext billing = LDContext.create(ContextKind.of("service"), "billing");
    LDContext search = LDContext.create(ContextKind.of("service"), "search");

    assertThat(flag.target()).isEqualTo(Target.OLD);
    assertThat(flag.targetFor(billing)).contains(Target.NEW);
    assertThat(flag.targetFor(search)).contains(Target.OLD);
  }

  // --- helpers

  private void hear(Target target) {
    heardAtNanos.add(System.nanoTime());
    heard.add(target);
  }

  private Map<String, String> settings(String... extra) {
    Map<String, String> settings = new HashMap<>();
    settings.put(RoutingFlags.PROVIDER, "launchdarkly");
    settings.put(RoutingFlags.KEY, FLAG_KEY);
    settings.put(RoutingFlags.LD_SDK_KEY, sdkKey);
    settings.put(RoutingFlags.LD_STREAM_URI, STAND_IN.baseUrl());
    settings.put(RoutingFlags.LD_EVENTS, "false");
    settings.put(RoutingFlags.LD_RECONNECT_DELAY, "50");
    settings.put(RoutingFlags.LD_START_WAIT, "3000");
    for (int i = 0; i < extra.length; i += 2) {
      settings.put(extra[i], extra[i + 1]);
    }
    return settings;
  }

  private void open(String... extra) {
    flag = (LaunchDarklyFlag) RoutingFlags.open(settings(extra));
  }

  private static ResponseDefinitionBuilder event(String body) {
    return aResponse()
        .withStatus(200)
        .withHeader("Content-Type", "text/event-stream")
        .withBody(body);
  }

  /** Every connection from now on gets this response (a newer stub wins over older ones). */
  private void serveStream(ResponseDefinitionBuilder response) {
    STAND_IN.stubFor(streamRequest().willReturn(response));
  }

  /** Connection i gets response i; the last one answers every connection after it. */
  private void serveInSequence(ResponseDefinitionBuilder... responses) {
    for (int i = 0; i < responses.length; i++) {
      String state = i == 0 ? STARTED : "connection-" + i;
      var stub = streamRequest().inScenario(SCENARIO).whenScenarioStateIs(state);
      if (i + 1 < responses.length) {
        stub = stub.willSetStateTo("connection-" + (i + 1));
      }
      STAND_IN.stubFor(stub.willReturn(responses[i]));
    }
  }

  /** This test's client's stream requests. */
  private MappingBuilder streamRequest() {
    return get(urlPathEqualTo("/all")).withHeader("Authorization", equalTo(sdkKey));
  }

  private long requestsForStream() {
    return STAND_IN
        .findAll(getRequestedFor(urlPathEqualTo("/all")).withHeader("Authorization", equalTo(sdkKey)))
        .size();
  }

  private static ListAppender<ILoggingEvent> captureDecisionLog() {
    ListAppender<ILoggingEvent> appender = new ListAppender<>();
    appender.start();
    ((Logger) LoggerFactory.getLogger(Decision.class)).addAppender(appender);
    return appender;
  }

  private static void releaseDecisionLog(ListAppender<ILoggingEvent> appender) {
    ((Logger) LoggerFactory.getLogger(Decision.class)).detachAppender(appender);
  }
}
