package dev.cutover.driver;

import java.util.List;

/** A router's state and counters, registered as {@code dev.cutover:type=Router,service=…,instance=…,id=…}. */
public interface RouterMXBean {
  String getService();

  /** This instance's id among the service's instances ({@code cutover.instance}, or host:pid:n). */
  String getInstance();

  /** {@code old} or {@code new}. */
  String getServing();

  /** What the flag asks for now; {@code none} without a flag source ({@code cutover.flag.provider} not set). */
  String getFlagTarget();

  /**
   * Why this instance serves a side its own flag does not ask for, or empty: it joined a switch
   * that a peer's flag asked for, and its own flag has not changed since. A flag behind its peers'
   * soon agrees; one that stays so disagrees with theirs (see the log's warning).
   */
  String getFlagDisagreement();

  /** VALID, INTERRUPTED or OFF. */
  String getFlagHealth();

  /** What the running switch is doing (also published to the control schema), or {@code idle}. */
  String getPhase();

  /** Whether a switch holds new transactions at its gate right now. */
  boolean isHolding();

  /** Flag values that were neither old nor new, and so were ignored. */
  long getFlagRejectedValues();

  /** Whether both databases carried the control schema at the last check (at start, then at every switch). */
  boolean isControlSchemaPresent();

  /**
   * What could not be checked or makes switches refused, each naming the guarantee that waits
   * and what it waits for (an unreachable database, a missing control schema, a pooler without a
   * direct URL); empty when the last check found nothing.
   */
  List<String> getPendingGuarantees();

  int getLogicalConnections();

  long getSwitchesCompleted();

  /**
   * Switches that closed their gate, then gave up: transactions waited, and traffic stayed where it
   * was. The Micrometer binder's {@code outcome=aborted}; refusals are {@link #getSwitchesRefused()}.
   */
  long getSwitchesAborted();

  /**
   * Switches that ended before their gate closed ({@link SwitchEvent#gateClosed()} false: refused by
   * their checks or their probe, a connection failed), holding nothing; tried again every {@code
   * cutover.switch.retry-interval} while the flag asks. The Micrometer binder's {@code outcome=refused}.
   */
  long getSwitchesRefused();

  long getTransactionsRolledBack();

  long getGateWaits();

  /** The last switch's summary, or empty. */
  String getLastSwitch();
}
