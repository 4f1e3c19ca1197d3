package dev.cutover.driver.switching;

/**
 * What the switch sees of a logical connection: whether a transaction is in flight, and the
 * means to end one that outlives the drain.
 */
public interface Session {
  /** No transaction in flight. */
  int IDLE = 0;
  /** A transaction (or the statement that begins one) is in flight. */
  int BUSY = 1;
  /** Rolled back by a switch; its caller gets SQLState 40001 until it rolls back. */
  int DOOMED = 2;

  int activity();

  /**
   * Rolls back the in-flight transaction by aborting the physical connection, if it is still
   * in flight.
   *
   * @return the backend process id to wait for, or 0 when the transaction had already ended
   */
  int doom(String reason);
}
