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
 * The way back (new → old) keeps them on the opposite ones: its slot on new; its subscription or
 * its apply position on old. Found on the other sides only, the two URLs are swapped; a command
 * that went on would read "nothing started" (status, catch-up: run start) or "old is not fenced"
 * (reverse), and lead the operator to start again over a running migration, or write into the
 * wrong database (heartbeat, sync-large-objects).
 */
public final class SwappedSides {
  private SwappedSides() {}

  /**
   * Fails with {@link Failure#PRECONDITION} when replication's objects are found only where they
   * would be with {@code old} and {@code nw} swapped (forward from {@code nw} to {@code old}, or the
   * way back from {@code old} to {@code nw}), naming {@code step}.
   */
  public static void refuse(Connection old, Connection nw, Names names, String step) throws SQLException, ReplicatorException {
    if (forwardFrom(old, nw, names) || backFrom(nw, old, names) || !forwardFrom(nw, old, names) && !backFrom(old, nw, names)) {
      return;
    }
    throw new ReplicatorException(Failure.PRECONDITION, "old and new look swapped: replication of migration " + names.label()
        + " runs " + (forwardFrom(nw, old, names) ? "from the database given as --new-url into the one given as --old-url"
            : "back from the database given as --old-url into the one given as --new-url") + " (" + step + " changed nothing)",
        "give the database the application served first (replication's source) as --old-url and the one replication copies"
            + " into as --new-url, as start was given them, and run " + step + " again");
  }

  /** Whether the way back's objects are where they would be with {@code source} as new and {@code target} as old. */
  private static boolean backFrom(Connection source, Connection target, Names names) throws SQLException {
    return ReplicationObjects.subscriptionExists(target, names.reverse()) || ReplicationObjects.ownSlotExists(source, names.reverseSlot())
        || CaptureWays.reverseArmed(target);
  }

  /** Whether forward replication's objects are where they would be with {@code source} as old and {@code target} as new. */
  private static boolean forwardFrom(Connection source, Connection target, Names names) throws SQLException {
    return ReplicationObjects.subscriptionExists(target, names.forward()) || ReplicationObjects.ownSlotExists(source, names.forwardSlot())
        || RelayProgress.armed(target) || CaptureWays.forwardArmed(target);
  }
}
