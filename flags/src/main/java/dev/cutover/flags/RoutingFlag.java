package dev.cutover.flags;

/**
 * The routing decision for one service instance: which database should serve it now.
 *
 * <p>{@link #target()} is called at every transaction boundary, so implementations answer from
 * memory, without blocking or allocating. Changes are announced to listeners; a listener is
 * called at most once per change, never concurrently with itself, and must hand long work off.
 */
public interface RoutingFlag extends AutoCloseable {

  /** The current decision; the last known value while the source is unhealthy. */
  Target target();

  /** Whether the source is delivering decisions. */
  FlagHealth health();

  /**
   * Whether the source has delivered a value since it opened. Until it has, {@link #target()} is
   * only the configured default, which must not move traffic by itself. Sources that always have
   * a value answer true.
   */
  default boolean delivered() {
    return true;
  }

  /**
   * How many values the source delivered that were not routing targets (each was ignored, and each
   * distinct one logged once). Sources that cannot deliver bad values answer 0.
   */
  default long rejectedValues() {
    return 0;
  }

  void addListener(FlagListener listener);

  void removeListener(FlagListener listener);

  /** Stops watching the source; {@link #target()} keeps answering the last value. */
  @Override
  void close();
}
