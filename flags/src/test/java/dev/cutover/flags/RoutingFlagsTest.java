package dev.cutover.flags;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RoutingFlagsTest {
  private static final String SDK_KEY = "sdk-routing-flags-secret-0003";

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
  void open_launchdarklyWithoutFlagKey_throwsNamingKey() {
    Map<String, String> settings = launchDarkly();
    settings.remove(RoutingFlags.KEY);

    assertThatThrownBy(() -> RoutingFlags.open(settings, name -> null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cutover.flag.key is required");
  }

  @Test
  void open_launchdarklyWithoutSdkKey_throwsNamingSettingAndVariable() {
    Map<String, String> settings = launchDarkly();
    settings.remove(RoutingFlags.LD_SDK_KEY);

    assertThatThrownBy(() -> RoutingFlags.open(settings, name -> null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cutover.flag.ld.sdk-key")
        .hasMessageContaining("LD_SDK_KEY");
  }

  @Test
  void open_badStartWait_throwsNamingKeyAndValueButNotSdkKey() {
    Map<String, String> settings = launchDarkly();
    settings.put(RoutingFlags.LD_START_WAIT, "5s");

    assertThatThrownBy(() -> RoutingFlags.open(settings, name -> null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cutover.flag.ld.start-wait=5s")
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain(SDK_KEY));
  }

  @Test
  void open_badUri_throwsNamingKeyAndValue() {
    Map<String, String> settings = launchDarkly();
    settings.put(RoutingFlags.LD_RELAY_URI, "relay.internal:8030");

    assertThatThrownBy(() -> RoutingFlags.open(settings, name -> null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cutover.flag.ld.relay-uri=relay.internal:8030");
  }

  @Test
  void open_badDefault_throwsNamingKey() {
    Map<String, String> settings = launchDarkly();
    settings.put(RoutingFlags.DEFAULT, "blue");

    assertThatThrownBy(() -> RoutingFlags.open(settings, name -> null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cutover.flag.default")
        .hasMessageContaining("blue");
  }

  @Test
  void open_fileWithoutPath_throwsNamingKey() {
    assertThatThrownBy(() -> RoutingFlags.open(Map.of(RoutingFlags.PROVIDER, "file")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cutover.flag.file is required");
  }

  @Test
  void from_sdkKeyOnlyInEnvironment_usesEnvironment() {
    Map<String, String> settings = launchDarkly();
    settings.remove(RoutingFlags.LD_SDK_KEY);

    LaunchDarklySettings parsed =
        LaunchDarklySettings.from(
            new Settings(settings), name -> name.equals("LD_SDK_KEY") ? SDK_KEY : null);

    assertThat(parsed.sdkKey()).isEqualTo(SDK_KEY);
  }

  @Test
  void from_sdkKeyInSettingAndEnvironment_settingWins() {
    LaunchDarklySettings parsed =
        LaunchDarklySettings.from(new Settings(launchDarkly()), name -> "from-environment");

    assertThat(parsed.sdkKey()).isEqualTo(SDK_KEY);
  }

  @Test
  void from_defaults_streamingOldDefaultServiceGeneratedInstance() {
    LaunchDarklySettings parsed = LaunchDarklySettings.from(new Settings(launchDarkly()), n -> null);

    assertThat(parsed.polling()).isFalse();
    assertThat(parsed.defaultTarget()).isEqualTo(Target.OLD);
    assertThat(parsed.service()).isEqualTo("default");
    assertThat(parsed.instance()).isNotBlank();
    assertThat(parsed.startWait()).isEqualTo(Duration.ofSeconds(5));
    assertThat(parsed.sendEvents()).isTrue();
  }

  @Test
  void toString_settings_masksSdkKey() {
    LaunchDarklySettings parsed = LaunchDarklySettings.from(new Settings(launchDarkly()), n -> null);

    assertThat(parsed.toString()).doesNotContain(SDK_KEY).contains("sdkKey=****");
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

  private static Map<String, String> launchDarkly() {
    Map<String, String> settings = new HashMap<>();
    settings.put(RoutingFlags.PROVIDER, "launchdarkly");
    settings.put(RoutingFlags.KEY, "app-db-cutover");
    settings.put(RoutingFlags.LD_SDK_KEY, SDK_KEY);
    return settings;
  }
}
