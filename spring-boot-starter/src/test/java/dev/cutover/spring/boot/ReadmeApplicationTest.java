package dev.cutover.spring.boot;

import static dev.cutover.flags.launchdarkly.LaunchDarklyPayloads.patch;
import static dev.cutover.flags.launchdarkly.LaunchDarklyPayloads.put;
import static dev.cutover.flags.launchdarkly.LaunchDarklyPayloads.stringFlag;
import static org.assertj.core.api.Assertions.assertThat;

import dev.cutover.driver.Outcome;
import dev.cutover.driver.SwitchEvent;
import dev.cutover.flags.launchdarkly.SseStandIn;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * README's "Use it" configuration, read from README.md, in a Spring Boot 3 application with
 * Flyway, Actuator and the LaunchDarkly flag (a local stand-in for LaunchDarkly's stream): it
 * boots, Flyway migrates through the Cutover data source, and a flip under writes moves it to new
 * with nothing lost; health and metrics show it.
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
@NoLeakedConnections.PerClass
class ReadmeApplicationTest {
  private static SseStandIn launchDarkly;
  private static DocumentedApp app;

  @BeforeAll
  static void start(PostgresPair pair) throws Exception {
    launchDarkly = new SseStandIn(put(stringFlag(1, "old")));
    app = DocumentedApp.start(pair, "README.md", "spring.datasource.url=jdbc:cutover:", Map.of(),
        // What the deployment adds: LaunchDarkly's SDK key (LD_SDK_KEY in production) and, here,
        // the stand-in's address.
        "cutover.flag.ld.sdk-key=sdk-readme-test",
        "cutover.flag.ld.stream-uri=" + launchDarkly.baseUrl(),
        "cutover.flag.ld.events=false");
  }

  @AfterAll
  static void stop() {
    if (app != null) {
      app.close();
    }
    if (launchDarkly != null) {
      launchDarkly.close();
    }
  }

  @Test
  void readmeConfiguration_flipUnderWrites_movesToNewWithNothingLost() throws Exception {
    assertThat(app.migratedOnOld()).as("Flyway migrated at start, through the Cutover data source").containsExactly("1");
    assertThat(app.get("/actuator/health")).contains("\"cutover\"").contains("\"serving\":\"old\"")
        .contains("\"flagHealth\":\"VALID\"").contains("\"controlSchema\":true");
    List<DocumentedApp.Writes> writes = new ArrayList<>();

    SwitchEvent event = app.writeThroughFlip(() -> {
      try {
        launchDarkly.send(patch(stringFlag(2, "new")));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }, writes);

    assertThat(event.outcome()).as(event.summary()).isEqualTo(Outcome.COMPLETED);
    assertThat(writes.get(0).failures()).isEmpty();
    assertThat(app.bookingsOnNew()).containsAll(writes.get(0).acknowledged());
    assertThat(app.get("/actuator/health")).contains("\"serving\":\"new\"").contains("\"switchesCompleted\":1");
    MeterRegistry meters = app.meters();
    assertThat(meters.get("cutover.switch.duration").tag("outcome", "completed").timer().count()).isEqualTo(1);
    assertThat(meters.get("cutover.switch.phase").tag("phase", "barrier").timer().totalTime(TimeUnit.NANOSECONDS))
        .isEqualTo(event.barrier().toNanos());
    assertThat(meters.get("cutover.serving").gauge().value()).isEqualTo(1);
    assertThat(app.get("/actuator/metrics/cutover.switch.phase")).contains("\"phase\"");
    assertThat(app.get("/actuator/health")).contains("\"db\"");
  }
}
