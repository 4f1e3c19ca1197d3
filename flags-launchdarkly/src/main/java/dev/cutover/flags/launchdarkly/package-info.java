/**
 * The routing flag as a LaunchDarkly flag serves it ({@code cutover.flag.provider=launchdarkly}):
 * {@link dev.cutover.flags.launchdarkly.LaunchDarklyFlag}, opened by the driver through {@link
 * dev.cutover.flags.launchdarkly.LaunchDarklyFlagProvider} when this artifact ({@code
 * dev.cutover:cutover-flags-launchdarkly}) is on the class path. It brings the LaunchDarkly Java
 * server SDK and Caffeine; the driver itself carries neither.
 *
 * <p>The design notes of {@code dev.cutover.flags} hold here too: the hot path is one volatile
 * read, one update thread per source, an outage never moves traffic, a bad value is counted once
 * per delivery and logged once per distinct value.
 */
package dev.cutover.flags.launchdarkly;
