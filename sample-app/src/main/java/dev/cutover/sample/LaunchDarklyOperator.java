package dev.cutover.sample;

import dev.cutover.flags.FlagHealth;
import dev.cutover.flags.FlagListener;
import dev.cutover.flags.RoutingFlag;
import dev.cutover.flags.RoutingFlags;
import dev.cutover.flags.Target;
import java.io.PrintStream;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A LaunchDarkly flag as the rehearsal's routing flag. The rehearsal cannot flip it (a server-side
 * SDK key only reads flags), so at each flip it prints what the operator must set and waits,
 * watching the flag through its own SDK client, until the flag says so or the flip timeout ends.
 *
 * <p>The rehearsal's client evaluates the flag for the same context as the instances (kind {@code
 * service}, key {@code booking}), under its own instance id; an operator who targets single
 * instances must include {@value #OBSERVER}.
 */
final class LaunchDarklyOperator implements FlagControl {
  static final String OBSERVER = "rehearsal-observer";

  private final RehearsalPlan.FlagSource.LaunchDarkly options;
  private final RoutingFlag observer;
  private final PrintStream out;

  LaunchDarklyOperator(RehearsalPlan.FlagSource.LaunchDarkly options, RoutingFlag observer, PrintStream out) {
    this.options = options;
    this.observer = observer;
    this.out = out;
  }

  /**
   * Starts watching the flag and checks that it says old, so that the instances start on old.
   *
   * @throws RehearsalException when LaunchDarkly does not deliver the flag, or it says new
   */
  static LaunchDarklyOperator open(RehearsalPlan.FlagSource.LaunchDarkly options, PrintStream out) throws RehearsalException {
    Map<String, String> settings = new HashMap<>(driverSettings(options));
    settings.put(RoutingFlags.SERVICE, RehearsalDatabases.SERVICE);
    settings.put(RoutingFlags.INSTANCE, OBSERVER);
    RoutingFlag observer;
    try {
      observer = RoutingFlags.open(settings);
    } catch (RuntimeException e) {
      throw new RehearsalException("cannot watch LaunchDarkly flag " + options.flagKey() + ": " + e.getMessage(), e);
    }
    LaunchDarklyOperator operator = new LaunchDarklyOperator(options, observer, out);
    try {
      operator.requireOld();
    } catch (RehearsalException e) {
      observer.close();
      throw e;
    }
    return operator;
  }

  /** The driver settings every instance gets; the SDK key among them is a secret. */
  static Map<String, String> driverSettings(RehearsalPlan.FlagSource.LaunchDarkly options) {
    Map<String, String> settings = new HashMap<>();
    settings.put(RoutingFlags.PROVIDER, "launchdarkly");
    settings.put(RoutingFlags.KEY, options.flagKey());
    settings.put(RoutingFlags.LD_SDK_KEY, options.sdkKey());
    if (options.baseUri() != null) {
      settings.put(RoutingFlags.LD_RELAY_URI, options.baseUri().toString());
    }
    return settings;
  }

  /** Fails unless LaunchDarkly delivers the flag and it says old. */
  void requireOld() throws RehearsalException {
    if (observer.health() != FlagHealth.VALID) {
      throw new RehearsalException("LaunchDarkly did not deliver flag " + options.flagKey() + " (source "
          + observer.health().name().toLowerCase(Locale.ROOT) + "): check LD_SDK_KEY (or --ld-sdk-key)"
          + (options.baseUri() == null ? "" : " and --ld-base-uri=" + options.baseUri()), null);
    }
    if (observer.target() != Target.OLD) {
      throw new RehearsalException("LaunchDarkly flag " + options.flagKey() + " says " + observer.target().value()
          + " for service " + RehearsalDatabases.SERVICE + "; set it to old (or false) before the rehearsal, which starts"
          + " every instance on old", null);
    }
  }

  @Override
  public Map<String, String> driverSettings() {
    return driverSettings(options);
  }

  @Override
  public long flip(int number, Target to) throws InterruptedException, TimeoutException {
    LinkedBlockingQueue<Target> changes = new LinkedBlockingQueue<>();
    FlagListener listener = changes::add;
    observer.addListener(listener);
    try {
      if (observer.target() == to) {
        return System.nanoTime();
      }
      out.printf(Locale.ROOT, "%n>>> flip %d: set LaunchDarkly flag %s to \"%s\" (or %s) for service %s now;"
              + " waiting up to %d s%n%n", number, options.flagKey(), to.value(), to == Target.NEW ? "true" : "false",
          RehearsalDatabases.SERVICE, options.flipTimeout().toSeconds());
      out.flush();
      long deadline = System.nanoTime() + options.flipTimeout().toNanos();
      while (true) {
        Target seen = changes.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        if (seen == to || observer.target() == to) {
          return System.nanoTime();
        }
        if (System.nanoTime() - deadline >= 0) {
          throw new TimeoutException("LaunchDarkly flag " + options.flagKey() + " did not move to " + to.value() + " within "
              + options.flipTimeout().toSeconds() + " s (--flip-timeout)");
        }
      }
    } finally {
      observer.removeListener(listener);
    }
  }

  @Override
  public String closingAdvice(Target serving) {
    return serving == Target.OLD ? "" : "LaunchDarkly flag " + options.flagKey() + " still says new:"
        + " set it back to old (or false) before the next rehearsal";
  }

  @Override
  public String describe() {
    return "LaunchDarkly flag " + options.flagKey() + (options.baseUri() == null ? "" : " through " + options.baseUri())
        + ", flipped by the operator";
  }

  @Override
  public void close() {
    observer.close();
  }
}
