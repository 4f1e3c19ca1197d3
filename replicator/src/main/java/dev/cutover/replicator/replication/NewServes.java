package dev.cutover.replicator.replication;

import dev.cutover.driver.control.OperatorControl;
import dev.cutover.replicator.Names;
import dev.cutover.replicator.apply.RelayProgress;
import dev.cutover.replicator.capture.CaptureWays;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Optional;

/**
 * Whether the application serves from new already: a switch to new has fenced old, or old's
 * control schema records a switch to new as released (and new none back to old since), or the way
 * back (new → old) runs while forward does not. A command that copies old onto new (as {@code
 * sync-large-objects} does) would then overwrite or delete what the application wrote on new.
 * What the role may not read (the control schema's functions) tells nothing.
 */
public final class NewServes {
  private NewServes() {}

  /** Why new serves already, as a clause ("old is fenced ..."), or empty where old still does. */
  public static Optional<String> why(Connection old, Connection nw, Names names) throws SQLException {
    if (Sql.mayExecute(old, "cutover.fence_raised()") && OperatorControl.fenceRaised(old)) {
      return Optional.of("old is fenced (a switch to new raised its fence: the application's writes go to new)");
    }
    Optional<ReleasedSwitch> released = ReleasedSwitch.toward(old, nw, "new");
    if (released.isPresent()) {
      return Optional.of("old's control schema records switch " + released.get().view().id() + " of service "
          + released.get().service() + " to new as released (the application's writes go to new)");
    }
    boolean forward = ReplicationObjects.subscriptionExists(nw, names.forward()) || RelayProgress.armed(nw) || CaptureWays.forwardArmed(nw);
    boolean back = ReplicationObjects.subscriptionExists(old, names.reverse()) || CaptureWays.reverseArmed(old);
    if (back && !forward) {
      return Optional.of("reverse replication (new -> old) runs and forward does not: the application's writes on new flow back to old");
    }
    return Optional.empty();
  }
}
