package dev.cutover.driver;

/** Told about every switch when it ends, on the switch's own thread: return quickly. */
@FunctionalInterface
public interface SwitchListener {
  void onSwitch(SwitchEvent event);
}
