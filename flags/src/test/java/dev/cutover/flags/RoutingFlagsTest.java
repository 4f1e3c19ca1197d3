package dev.cutover.flags;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

class RoutingFlagsTest {
  @Test
  void open_noProvider_isNoDecision() {
    RoutingFlag flag = RoutingFlags.open(Map.of());

    assertThat(flag.delivered()).as("a provider never chosen delivers no value: %s", flag).isFalse();
    assertThat(flag.rejectedValues()).isZero();
  }

  @Test
  void open_noneNamed_isNoDecision() {
    assertThat(RoutingFlags.open(Map.of(RoutingFlags.PROVIDER, "none")).delivered()).isFalse();
  }

  @Test
  void open_fixedWithoutValue_old() {
    RoutingFlag flag = RoutingFlags.open(Map.of(RoutingFlags.PROVIDER, "fixed"));

    assertThat(flag).isInstanceOf(FixedFlag.class);
    assertThat(flag.delivered()).isTrue();
    assertThat(flag.target()).isEqualTo(Target.OLD);
  }

  @Test
  void open_flagSettingsWithoutProvider_refusedNamingTheSettingAndTheProviderThatReadsIt() {
    assertThatThrownBy(() -> RoutingFlags.open(Map.of(RoutingFlags.FILE, "/etc/booking/cutover-flag")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cutover.flag.file=/etc/booking/cutover-flag")
        .hasMessageContaining("cutover.flag.provider=file");
    assertThatThrownBy(() -> RoutingFlags.open(Map.of(RoutingFlags.KEY, "booking-db-cutover")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cutover.flag.key=booking-db-cutover")
        .hasMessageContaining("cutover.flag.provider=launchdarkly");
    assertThatThrownBy(() -> RoutingFlags.open(Map.of(RoutingFlags.DEFAULT, "new")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cutover.flag.default=new");
    assertThatThrownBy(() -> RoutingFlags.open(Map.of(RoutingFlags.VALUE, "new")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cutover.flag.value=new")
        .hasMessageContaining("cutover.flag.provider=fixed");
  }

  @Test
  void open_sdkKeyWithTheFileProvider_refusedWithoutShowingTheKey() {
    assertThatThrownBy(() -> RoutingFlags.open(Map.of(RoutingFlags.PROVIDER, "file",
            RoutingFlags.FILE, "/etc/booking/cutover-flag", RoutingFlags.LD_SDK_KEY, "sdk-secret-0c1d")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cutover.flag.ld.sdk-key")
        .hasMessageContaining("cutover.flag.provider=file")
        .hasMessageNotContaining("sdk-secret-0c1d");
  }

  @Test
  void open_defaultWithTheFixedProvider_refused() {
    assertThatThrownBy(() -> RoutingFlags.open(Map.of(RoutingFlags.PROVIDER, "fixed", RoutingFlags.DEFAULT, "new")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cutover.flag.default=new")
        .hasMessageContaining("cutover.flag.provider=fixed");
  }

  @Test
  void open_unknownProvider_throwsNamingKeyAndValue() {
    assertThatThrownBy(() -> RoutingFlags.open(Map.of(RoutingFlags.PROVIDER, "unleash")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cutover.flag.provider=unleash")
        .hasMessageContaining("launchdarkly, file, fixed, manual, none");
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
