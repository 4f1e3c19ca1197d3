package dev.cutover.sample;

import dev.cutover.flags.Target;
import java.io.PrintStream;
import java.util.Map;
import java.util.concurrent.TimeoutException;

/**
 * Who moves the routing flag during a rehearsal, and the driver settings that make every
 * instance follow that flag: a flag file the rehearsal rewrites ({@link FlagFile}), or a
 * LaunchDarkly flag an operator flips ({@link LaunchDarklyOperator}).
 */
interface FlagControl extends AutoCloseable {

  /**
   * Opens the flag source of the plan.
   *
   * @throws RehearsalException when the flag cannot be read, or does not say old to begin with
   */
  static FlagControl open(RehearsalPlan.FlagSource source, PrintStream out) throws RehearsalException {
    if (source instanceof RehearsalPlan.FlagSource.LaunchDarkly ld) {
      return LaunchDarklyOperator.open(ld, out);
    }
    return FlagFile.create(Target.OLD);
  }

  /**
   * The driver's flag settings ({@code cutover.flag.*}). Secret ones (the SDK key) must go into
   * JDBC properties, never into a URL.
   */
  Map<String, String> driverSettings();

  /**
   * Moves the flag to {@code to}, or tells the operator to and waits until it has moved.
   *
   * @param number the flip's number, for what is printed
   * @return when the flag moved, as {@link System#nanoTime()}, as near as the rehearsal can tell
   * @throws TimeoutException when the flag did not move in time (an operator's flip)
   */
  long flip(int number, Target to) throws InterruptedException, TimeoutException;

  /** What is printed once the load is over and the flag is left at {@code serving}, or an empty string. */
  default String closingAdvice(Target serving) {
    return "";
  }

  /** One line for the report. */
  String describe();

  @Override
  void close();
}
