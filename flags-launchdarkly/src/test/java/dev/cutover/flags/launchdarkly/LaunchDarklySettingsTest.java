package dev.cutover.flags.launchdarkly;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cutover.flags.FlagSettings;
import dev.cutover.flags.RoutingFlag;
import dev.cutover.flags.RoutingFlags;
import dev.cutover.flags.Target;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** The provider's settings, validated when read, and the driver finding it on the class path. */
class LaunchDarklySettingsTest {
  private static final String SDK_KEY = "sdk-routing-flags-secret-0003";

  @Test
  void open_throughRoutingFlags_findsTheProviderOnTheClassPath() {
    Map<String, String> settings = launchDarkly();
    settings.remove(RoutingFlags.KEY);

    // Found through ServiceLoader: the error is the provider's own, not "needs the artifact".
    assertThatThrownBy(() -> RoutingFlags.open(settings))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cutover.flag.key is required");
  }

  private static RoutingFlag open(Map<String, String> settings, Function<String, String> env) {
    return new LaunchDarklyFlagProvider().open(new FlagSettings(settings), env);
  }

  @Test
  void open_launchdarklyWithoutFlagKey_throwsNamingKey() {
    Map<String, String> settings = launchDarkly();
    settings.remove(RoutingFlags.KEY);

    assertThatThrownBy(() -> open(settings, name -> null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cutover.flag.key is required");
  }

  @Test
  void open_launchdarklyWithoutSdkKey_throwsNamingSettingAndVariable() {
    Map<String, String> settings = launchDarkly();
    settings.remove(RoutingFlags.LD_SDK_KEY);

    assertThatThrownBy(() -> open(settings, name -> null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cutover.flag.ld.sdk-key")
        .hasMessageContaining("LD_SDK_KEY");
  }

  @Test
  void open_badStartWait_throwsNamingKeyAndValueButNotSdkKey() {
    Map<String, String> settings = launchDarkly();
    settings.put(RoutingFlags.LD_START_WAIT, "soon");

    assertThatThrownBy(() -> open(settings, name -> null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cutover.flag.ld.start-wait=soon")
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain(SDK_KEY));
  }

  @Test
  void open_badUri_throwsNamingKeyAndValue() {
    Map<String, String> settings = launchDarkly();
    settings.put(RoutingFlags.LD_RELAY_URI, "relay.internal:8030");

    assertThatThrownBy(() -> open(settings, name -> null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cutover.flag.ld.relay-uri=relay.internal:8030");
  }

  @Test
  void open_badDefault_throwsNamingKey() {
    Map<String, String> settings = launchDarkly();
    settings.put(RoutingFlags.DEFAULT, "blue");

    assertThatThrownBy(() -> open(settings, name -> null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cutover.flag.default")
        .hasMessageContaining("blue");
  }

  @Test
  void from_sdkKeyOnlyInEnvironment_usesEnvironment() {
    Map<String, String> settings = launchDarkly();
    settings.remove(RoutingFlags.LD_SDK_KEY);

    LaunchDarklySettings parsed =
        LaunchDarklySettings.from(
            new FlagSettings(settings), name -> name.equals("LD_SDK_KEY") ? SDK_KEY : null);

    assertThat(parsed.sdkKey()).isEqualTo(SDK_KEY);
  }

  @Test
  void from_sdkKeyInSettingAndEnvironment_settingWins() {
    LaunchDarklySettings parsed =
        LaunchDarklySettings.from(new FlagSettings(launchDarkly()), name -> "from-environment");

    assertThat(parsed.sdkKey()).isEqualTo(SDK_KEY);
  }

  @Test
  void from_defaults_streamingOldDefaultServiceGeneratedInstance() {
    LaunchDarklySettings parsed = LaunchDarklySettings.from(new FlagSettings(launchDarkly()), n -> null);

    assertThat(parsed.polling()).isFalse();
    assertThat(parsed.defaultTarget()).isEqualTo(Target.OLD);
    assertThat(parsed.service()).isEqualTo("default");
    assertThat(parsed.instance()).isNotBlank();
    assertThat(parsed.startWait()).isEqualTo(Duration.ofSeconds(5));
    assertThat(parsed.sendEvents()).isTrue();
  }

  @Test
  void from_bareNumberDurations_areMillisecondsAsInTheDriver() {
    Map<String, String> settings = launchDarkly();
    settings.put(RoutingFlags.LD_START_WAIT, "5000");
    settings.put(RoutingFlags.LD_RECONNECT_DELAY, "250");
    settings.put(RoutingFlags.LD_POLL_INTERVAL, "1.5m");

    LaunchDarklySettings parsed = LaunchDarklySettings.from(new FlagSettings(settings), n -> null);

    assertThat(parsed.startWait()).isEqualTo(Duration.ofSeconds(5));
    assertThat(parsed.reconnectDelay()).isEqualTo(Duration.ofMillis(250));
    assertThat(parsed.pollInterval()).isEqualTo(Duration.ofSeconds(90));
  }

  @Test
  void toString_settings_masksSdkKey() {
    LaunchDarklySettings parsed = LaunchDarklySettings.from(new FlagSettings(launchDarkly()), n -> null);

    assertThat(parsed.toString()).doesNotContain(SDK_KEY).contains("sdkKey=****");
  }

  private static Map<String, String> launchDarkly() {
    Map<String, String> settings = new HashMap<>();
    settings.put(RoutingFlags.PROVIDER, "launchdarkly");
    settings.put(RoutingFlags.KEY, "app-db-cutover");
    settings.put(RoutingFlags.LD_SDK_KEY, SDK_KEY);
    return settings;
  }
}
