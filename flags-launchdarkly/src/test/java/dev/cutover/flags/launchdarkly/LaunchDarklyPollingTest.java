package dev.cutover.flags.launchdarkly;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.wireMockConfig;
import static dev.cutover.flags.launchdarkly.LaunchDarklyPayloads.FLAG_KEY;
import static dev.cutover.flags.launchdarkly.LaunchDarklyPayloads.all;
import static dev.cutover.flags.launchdarkly.LaunchDarklyPayloads.boolFlag;
import static dev.cutover.flags.launchdarkly.LaunchDarklyPayloads.stringFlag;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.cutover.flags.RoutingFlags;
import dev.cutover.flags.Target;
import dev.cutover.flags.FlagHealth;
import dev.cutover.flags.FlagSettings;
import com.github.tomakehurst.wiremock.client.MappingBuilder;
import com.github.tomakehurst.wiremock.client.ResponseDefinitionBuilder;
import com.github.tomakehurst.wiremock.junit5.WireMockExtension;
import com.launchdarkly.sdk.server.Components;
import com.launchdarkly.sdk.server.LDConfig;
import com.launchdarkly.sdk.server.integrations.PollingDataSourceBuilder;
import java.lang.reflect.Method;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The real LaunchDarkly SDK, polling {@code GET /sdk/latest-all} on a LaunchDarkly stand-in served
 * by WireMock.
 *
 * <p>The SDK's public minimum poll interval is 30 s, so the tests that need more than the first
 * poll use the SDK's own test-only builder without that minimum (reached by reflection) and poll
 * every 100 ms.
 *
 * <p>Each test has an SDK key of its own, and the stand-in answers only that key, so that a last
 * poll from the test before's closed client cannot take this test's response or scenario step.
 */
class LaunchDarklyPollingTest {
  private static final AtomicInteger TESTS = new AtomicInteger();
  private static final String PATH = "/sdk/latest-all";
  private static final Duration FAST_POLL = Duration.ofMillis(100);

  @RegisterExtension
  static final WireMockExtension STAND_IN =
      WireMockExtension.newInstance().options(wireMockConfig().dynamicPort()).build();

  private final String sdkKey = "sdk-polling-test-secret-" + TESTS.incrementAndGet();
  private final List<Target> heard = new CopyOnWriteArrayList<>();
  private LaunchDarklyFlag flag;

  @AfterEach
  void closeFlag() {
    if (flag != null) {
      flag.close();
    }
  }

  @Test
  void open_pollServesNew_targetIsNew() {
    servePoll(json(all(stringFlag(1, "new"))));

    flag = (LaunchDarklyFlag) RoutingFlags.open(settings());

    assertThat(flag.target()).isEqualTo(Target.NEW);
    assertThat(flag.health()).isEqualTo(FlagHealth.VALID);
    STAND_IN.verify(getRequestedFor(urlPathEqualTo(PATH)).withHeader("Authorization", equalTo(sdkKey)));
  }

  @Test
  void poll_changesToNew_listenerHearsNew() {
    servePoll(json(all(boolFlag(1, false))));
    openFastPolling(UnaryOperator.identity());
    assertThat(flag.target()).isEqualTo(Target.OLD);
    flag.addListener(heard::add);

    long changedAt = System.nanoTime();
    servePoll(json(all(boolFlag(2, true))));

    await().atMost(Duration.ofSeconds(5)).until(() -> heard.contains(Target.NEW));
    System.out.printf(
        "LaunchDarkly stand-in (WireMock, polling every %d ms): change reached the listener in %d ms%n",
        FAST_POLL.toMillis(), (System.nanoTime() - changedAt) / 1_000_000);
    assertThat(heard).containsExactly(Target.NEW);
  }

  @Test
  void poll_refused401_offAndDefaultKept() {
    servePoll(aResponse().withStatus(401));

    Map<String, String> settings = settings();
    settings.put(RoutingFlags.DEFAULT, "new");
    flag = (LaunchDarklyFlag) RoutingFlags.open(settings);

    assertThat(flag.health()).isEqualTo(FlagHealth.OFF);
    assertThat(flag.target()).isEqualTo(Target.NEW);
  }

  @Test
  void poll_503AfterValue_lastValueKeptAndInterrupted() {
    valueThen(UnaryOperator.identity(), aResponse().withStatus(503));

    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> flag.health() == FlagHealth.INTERRUPTED && flag.status().contains("HTTP 503"));
    await()
        .during(Duration.ofMillis(500))
        .atMost(Duration.ofSeconds(3))
        .until(() -> flag.target() == Target.NEW && flag.health() == FlagHealth.INTERRUPTED);

    assertThat(heard).isEmpty();
  }

  @Test
  void poll_timesOutAfterValue_lastValueKeptAndInterrupted() {
    valueThen(
        config -> config.http(Components.httpConfiguration().socketTimeout(Duration.ofSeconds(3))),
        json(all(stringFlag(2, "old"))).withFixedDelay(8_000));
    await()
        .atMost(Duration.ofSeconds(15))
        .until(() -> flag.health() == FlagHealth.INTERRUPTED && flag.status().contains("NETWORK_ERROR"));
    System.out.println("after a time-out: " + flag.status());

    assertThat(flag.target()).isEqualTo(Target.NEW);
    assertThat(heard).isEmpty();
  }

  @Test
  void poll_malformedJsonAfterValue_lastValueKeptAndInterrupted() {
    valueThen(UnaryOperator.identity(), json("{\"flags\":{\"" + FLAG_KEY + "\":"));

    await()
        .atMost(Duration.ofSeconds(5))
        .until(() -> flag.health() == FlagHealth.INTERRUPTED && flag.status().contains("INVALID_DATA"));
    await()
        .during(Duration.ofMillis(300))
        .atMost(Duration.ofSeconds(3))
        .until(() -> flag.target() == Target.NEW);

    assertThat(heard).isEmpty();
  }

  // --- helpers

  private Map<String, String> settings() {
    Map<String, String> settings = new HashMap<>();
    settings.put(RoutingFlags.PROVIDER, "launchdarkly");
    settings.put(RoutingFlags.KEY, FLAG_KEY);
    settings.put(RoutingFlags.LD_SDK_KEY, sdkKey);
    settings.put(RoutingFlags.LD_POLLING, "true");
    settings.put(RoutingFlags.LD_POLLING_URI, STAND_IN.baseUrl());
    settings.put(RoutingFlags.LD_EVENTS, "false");
    settings.put(RoutingFlags.LD_START_WAIT, "3000");
    return settings;
  }

  private void openFastPolling(UnaryOperator<LDConfig.Builder> more) {
    LaunchDarklySettings parsed =
        LaunchDarklySettings.from(new FlagSettings(settings()), name -> null);
    flag = LaunchDarklyFlag.open(parsed, config -> more.apply(config.dataSource(pollingEvery(FAST_POLL))));
  }

  /** The SDK's package-private polling builder without the 30 s minimum, as its own tests use. */
  private static PollingDataSourceBuilder pollingEvery(Duration interval) {
    try {
      Method internal = Components.class.getDeclaredMethod("pollingDataSourceInternal");
      internal.setAccessible(true);
      Object builder = internal.invoke(null);
      Method noMinimum =
          builder.getClass().getDeclaredMethod("pollIntervalWithNoMinimum", Duration.class);
      noMinimum.setAccessible(true);
      return (PollingDataSourceBuilder) noMinimum.invoke(builder, interval);
    } catch (ReflectiveOperationException e) {
      throw new AssertionError("the SDK's internal polling builder moved: " + e, e);
    }
  }

  private static ResponseDefinitionBuilder json(String body) {
    return aResponse().withStatus(200).withHeader("Content-Type", "application/json").withBody(body);
  }

  private void servePoll(ResponseDefinitionBuilder response) {
    STAND_IN.stubFor(pollRequest().willReturn(response));
  }

  /**
   * The flag opened, holding "new" from the stand-in, then {@code next} answers every poll after.
   * "new" is served until the flag holds it: a sequence of answers lost its first to a poll the
   * client had given up on (a WireMock just started, under a loaded .ci/run, answered after the
   * socket time-out), and the flag never had a value to keep.
   */
  private void valueThen(UnaryOperator<LDConfig.Builder> more, ResponseDefinitionBuilder next) {
    servePoll(json(all(stringFlag(1, "new"))));
    openFastPolling(more);
    await().atMost(Duration.ofSeconds(10)).until(() -> flag.target() == Target.NEW);
    flag.addListener(heard::add);
    servePoll(next);
  }

  /** This test's client's polls. */
  private MappingBuilder pollRequest() {
    return get(urlPathEqualTo(PATH)).withHeader("Authorization", equalTo(sdkKey));
  }
}
