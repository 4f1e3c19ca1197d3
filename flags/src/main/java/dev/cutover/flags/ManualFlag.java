package dev.cutover.flags;

import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * A routing decision set from code in the same JVM ({@code cutover.flag.provider=manual}): tests
 * and embedding applications flip it with {@link #set}. Flags are shared by key, so the driver
 * and the code flipping it meet through {@link #named}.
 */
public final class ManualFlag implements RoutingFlag {
  private static final ConcurrentMap<String, ManualFlag> BY_KEY = new ConcurrentHashMap<>();

  private final String key;
  private final Listeners listeners = new Listeners();
  private volatile Target target;

  private ManualFlag(String key, Target initial) {
    this.key = key;
    this.target = initial;
  }

  /** The flag for {@code key}, created on first use with target {@code old}. */
  public static ManualFlag named(String key) {
    Objects.requireNonNull(key, "key");
    return BY_KEY.computeIfAbsent(key, k -> new ManualFlag(k, Target.OLD));
  }

  /** Sets the target; listeners are told, on the caller's thread, when it changed. */
  public void set(Target newTarget) {
    Objects.requireNonNull(newTarget, "target");
    Target previous;
    synchronized (this) {
      previous = target;
      target = newTarget;
    }
    if (previous != newTarget) {
      listeners.fire(newTarget);
    }
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
    listeners.add(listener);
  }

  @Override
  public void removeListener(FlagListener listener) {
    listeners.remove(listener);
  }

  /** Shared by key: closing one user's handle leaves the flag to the others. */
  @Override
  public void close() {
    // shared by key; nothing owned by one user
  }

  @Override
  public String toString() {
    return "ManualFlag[" + key + "=" + target.value() + "]";
  }
}
