package dev.cutover.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cutover.driver.Outcome;
import dev.cutover.driver.SwitchEvent;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * docs/spring-boot.md's configuration without LaunchDarkly (a flag file), read from the page, in
 * the same application with the LaunchDarkly artifact and SDK absent from the class path (this
 * class runs in its own Surefire execution that leaves them out).
 */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
@NoLeakedConnections.PerClass
class FileFlagApplicationTest {
  private static Path flagFile;
  private static DocumentedApp app;

  @BeforeAll
  static void start(PostgresPair pair) throws Exception {
    flagFile = Files.createTempFile("cutover-flag", "");
    Files.writeString(flagFile, "old\n");
    app = DocumentedApp.start(pair, "docs/spring-boot.md", "cutover.flag.provider=file",
        Map.of("/etc/booking/cutover-flag", flagFile.toString()));
  }

  @AfterAll
  static void stop() {
    if (app != null) {
      app.close();
    }
  }

  @Test
  void classPath_launchDarklyArtifactAbsent() {
    assertThatThrownBy(() -> Class.forName("dev.cutover.flags.launchdarkly.LaunchDarklyFlagProvider"))
        .isInstanceOf(ClassNotFoundException.class);
    assertThatThrownBy(() -> Class.forName("com.launchdarkly.sdk.server.LDClient"))
        .isInstanceOf(ClassNotFoundException.class);
  }

  @Test
  void fileFlagConfiguration_flipUnderWrites_movesToNewWithNothingLost() throws Exception {
    List<DocumentedApp.Writes> writes = new ArrayList<>();

    SwitchEvent event = app.writeThroughFlip(() -> {
      try {
        Files.writeString(flagFile, "new\n");
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }, writes);

    assertThat(event.outcome()).as(event.summary()).isEqualTo(Outcome.COMPLETED);
    assertThat(writes.get(0).failures()).isEmpty();
    assertThat(app.bookingsOnNew()).containsAll(writes.get(0).acknowledged());
    assertThat(app.get("/actuator/health")).contains("\"serving\":\"new\"");
    assertThat(app.meters().get("cutover.switch.duration").timer().count()).isEqualTo(1);
  }
}
