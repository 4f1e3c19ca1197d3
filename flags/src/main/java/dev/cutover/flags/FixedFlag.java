package dev.cutover.flags;

/** A routing decision that never changes ({@code cutover.flag.provider=fixed}). */
public final class FixedFlag implements RoutingFlag {
  private final Target target;

  public FixedFlag(Target target) {
    this.target = java.util.Objects.requireNonNull(target, "target");
  }

  @Override
  public Target target() {
    return target;
  }

  @Override
  public FlagHealth health() {
    return FlagHealth.VALID;
  }

  @Override
  public void addListener(FlagListener listener) {
    // never changes, so never calls
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
    return "FixedFlag[" + target.value() + "]";
  }
}
