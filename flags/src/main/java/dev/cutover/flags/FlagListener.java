package dev.cutover.flags;

/** Told when the routing target changes. Implementations must return quickly. */
@FunctionalInterface
public interface FlagListener {
  void onTargetChanged(Target target);
}
