package dev.cutover.flags;

/**
 * A flag source whose answer lives in a {@link Decision}: the part every watching source shares
 * (the current target, listeners, the count of rejected values). Sources in other artifacts (the
 * LaunchDarkly one) extend it too.
 */
public abstract class DecidingFlag implements RoutingFlag {
  protected final Decision decision;

  protected DecidingFlag(Decision decision) {
    this.decision = decision;
  }

  @Override
  public final Target target() {
    return decision.target();
  }

  @Override
  public final boolean delivered() {
    return decision.delivered();
  }

  @Override
  public final long rejectedValues() {
    return decision.rejected();
  }

  @Override
  public final void addListener(FlagListener listener) {
    decision.addListener(listener);
  }

  @Override
  public final void removeListener(FlagListener listener) {
    decision.removeListener(listener);
  }
}
