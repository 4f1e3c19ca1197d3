package dev.cutover.flags;

/**
 * No flag source: {@code cutover.flag.provider} unset, or {@code none}. It never delivers a value
 * ({@link #delivered()} is false), so an instance without a flag never decides a switch: it
 * serves where its service serves, joins the switches its peers' flags ask for and never leads
 * one. {@link #target()} answers {@code old} only because it must answer something; nothing reads
 * it as a decision.
 */
public final class NoFlag implements RoutingFlag {
  static final NoFlag INSTANCE = new NoFlag();

  private NoFlag() {}

  @Override
  public Target target() {
    return Target.OLD;
  }

  @Override
  public FlagHealth health() {
    return FlagHealth.VALID;
  }

  @Override
  public boolean delivered() {
    return false;
  }

  @Override
  public void addListener(FlagListener listener) {
    // never delivers, so never calls
  }

  @Override
  public void removeListener(FlagListener listener) {
    // nothing registered
  }

  @Override
  public void close() {
    // nothing to release
  }

  @Override
  public String toString() {
    return "NoFlag[cutover.flag.provider unset: follows the service]";
  }
}
