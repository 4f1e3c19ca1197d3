package dev.cutover.flags.launchdarkly;

import dev.cutover.flags.FlagProvider;
import dev.cutover.flags.FlagSettings;
import dev.cutover.flags.RoutingFlag;
import java.util.function.Function;

/**
 * {@code cutover.flag.provider=launchdarkly}: found by the driver through {@link
 * java.util.ServiceLoader} when this artifact is on the class path.
 */
public final class LaunchDarklyFlagProvider implements FlagProvider {
  @Override
  public String name() {
    return "launchdarkly";
  }

  @Override
  public RoutingFlag open(FlagSettings settings, Function<String, String> environment) {
    return LaunchDarklyFlag.open(LaunchDarklySettings.from(settings, environment));
  }
}
