package dev.cutover.flags;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

class RoutingFlagsTest {
  @Test
  void open_noProvider_fixedOld() {
    RoutingFlag flag = RoutingFlags.open(Map.of());

    assertThat(flag).isInstanceOf(FixedFlag.class);
    assertThat(flag.target()).isEqualTo(Target.OLD);
    assertThat(flag.rejectedValues()).isZero();
  }

  @Test
  void open_unknownProvider_throwsNamingKeyAndValue() {
    assertThatThrownBy(() -> RoutingFlags.open(Map.of(RoutingFlags.PROVIDER, "unleash")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cutover.flag.provider=unleash")
        .hasMessageContaining("launchdarkly, file, fixed, manual");
  }

  @Test
  void open_launchdarklyWithoutItsArtifact_namesTheArtifactToAdd() {
    // This module's tests run without cutover-flags-launchdarkly, as an application without it would.
    assertThatThrownBy(() -> RoutingFlags.open(
            Map.of(RoutingFlags.PROVIDER, "launchdarkly", RoutingFlags.KEY, "app-db-cutover")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cutover.flag.provider=launchdarkly")
        .hasMessageContaining("dev.cutover:cutover-flags-launchdarkly:" + CutoverVersion.get());
  }

  @Test
  void open_fileWithoutPath_throwsNamingKey() {
    assertThatThrownBy(() -> RoutingFlags.open(Map.of(RoutingFlags.PROVIDER, "file")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cutover.flag.file is required");
  }

  @Test
  void version_fromTheBuild_isTheProjectVersion() {
    assertThat(CutoverVersion.get()).matches("\\d+\\.\\d+\\.\\d+(-SNAPSHOT)?");
    assertThat(CutoverVersion.get()).startsWith(CutoverVersion.major() + "." + CutoverVersion.minor() + ".");
  }

  @Test
  void settings_everyKeyRead_listed() {
    assertThat(RoutingFlags.SETTINGS)
        .contains(
            "cutover.flag.provider",
            "cutover.flag.value",
            "cutover.flag.key",
            "cutover.flag.default",
            "cutover.flag.file",
            "cutover.service",
            "cutover.instance",
            "cutover.flag.ld.sdk-key",
            "cutover.flag.ld.relay-uri",
            "cutover.flag.ld.stream-uri",
            "cutover.flag.ld.polling-uri",
            "cutover.flag.ld.events-uri",
            "cutover.flag.ld.polling",
            "cutover.flag.ld.poll-interval",
            "cutover.flag.ld.reconnect-delay",
            "cutover.flag.ld.start-wait",
            "cutover.flag.ld.events");
    assertThat(RoutingFlags.SETTINGS).containsAll(RoutingFlags.SECRETS);
  }
}
