package dev.cutover.flags;

import java.util.function.Function;

/**
 * A flag source that lives in its own artifact and is found on the class path through {@link
 * java.util.ServiceLoader} (a {@code META-INF/services/dev.cutover.flags.FlagProvider} entry):
 * {@code cutover.flag.provider=<name>} opens it. The LaunchDarkly source ({@code
 * dev.cutover:cutover-flags-launchdarkly}) is one, so that the driver does not carry the
 * LaunchDarkly SDK for applications that route by file or by code.
 */
public interface FlagProvider {

  /** The value of {@code cutover.flag.provider} that selects this source, in lower case. */
  String name();

  /**
   * Opens the flag; may wait for its first value.
   *
   * @param settings every {@code cutover.*} setting of the connection
   * @param environment looks up environment variables (a secret's fallback)
   * @throws IllegalArgumentException naming the key and the bad value (never a secret's value)
   */
  RoutingFlag open(FlagSettings settings, Function<String, String> environment);
}
