package dev.cutover.driver.switching;

/** A router's state and counters, registered as {@code dev.cutover:type=Router,service=…,instance=…,id=…}. */
public interface RouterMXBean {
  String getService();

  /** This instance's id among the service's instances ({@code cutover.instance}, or host:pid:n). */
  String getInstance();

  /** {@code old} or {@code new}. */
  String getServing();

  /** What the flag asks for now. */
  String getFlagTarget();

  /** VALID, INTERRUPTED or OFF. */
  String getFlagHealth();

  /** Whether a switch holds new transactions at its gate right now. */
  boolean isHolding();

  /** Flag values that were neither old nor new, and so were ignored. */
  long getFlagRejectedValues();

  boolean isControlSchemaPresent();

  int getLogicalConnections();

  long getSwitchesCompleted();

  long getSwitchesAborted();

  long getTransactionsRolledBack();

  long getGateWaits();

  /** The last switch's summary, or empty. */
  String getLastSwitch();
}
