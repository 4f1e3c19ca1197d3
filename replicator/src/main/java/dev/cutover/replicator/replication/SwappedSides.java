package dev.cutover.replicator.replication;

import dev.cutover.replicator.Failure;
import dev.cutover.replicator.Names;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.apply.RelayProgress;
import dev.cutover.replicator.capture.CaptureWays;
import java.sql.Connection;
import java.sql.SQLException;

/**
 * Tells a command given old's and new's URLs the wrong way round from one given databases with
 * nothing of ours between them. Forward replication (old → new) keeps its objects on fixed sides:
 * the slot on old; the subscription, the relay position or the capture's apply position on new.
 * Found on the other sides only, the two URLs are swapped; a command that went on would read
 * "nothing started" (status: run start) or "old is not fenced" (reverse), and lead the operator to
 * start again over a running migration.
 */
public final class SwappedSides {
  private SwappedSides() {}

  /**
   * Fails with {@link Failure#PRECONDITION} when forward replication runs from {@code nw} to
   * {@code old} and not the other way, naming {@code step}.
   */
  public static void refuse(Connection old, Connection nw, Names names, String step) throws SQLException, ReplicatorException {
    if (forwardFrom(old, nw, names) || !forwardFrom(nw, old, names)) {
      return;
    }
    throw new ReplicatorException(Failure.PRECONDITION, "old and new look swapped: replication of migration " + names.label()
        + " runs from the database given as --new-url into the one given as --old-url (" + step + " changed nothing)",
        "give the database the application served first (replication's source) as --old-url and the one replication copies"
            + " into as --new-url, as start was given them, and run " + step + " again");
  }

  /** Whether forward replication's objects are where they would be with {@code source} as old and {@code target} as new. */
  private static boolean forwardFrom(Connection source, Connection target, Names names) throws SQLException {
    return ReplicationObjects.subscriptionExists(target, names.forward()) || ReplicationObjects.ownSlotExists(source, names.forwardSlot())
        || RelayProgress.armed(target) || CaptureWays.forwardArmed(target);
  }
}
