package dev.cutover.replicator.replication;

import dev.cutover.driver.control.OperatorControl;
import dev.cutover.driver.control.SwitchState;
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
    if (may(old, "cutover.fence_raised()") && OperatorControl.fenceRaised(old)) {
      return Optional.of("old is fenced (a switch to new raised its fence: the application's writes go to new)");
    }
    Optional<String> released = releasedToNew(old, nw);
    if (released.isPresent()) {
      return released;
    }
    boolean forward = ReplicationObjects.subscriptionExists(nw, names.forward()) || RelayProgress.armed(nw) || CaptureWays.forwardArmed(nw);
    boolean back = ReplicationObjects.subscriptionExists(old, names.reverse()) || CaptureWays.reverseArmed(old);
    if (back && !forward) {
      return Optional.of("reverse replication (new -> old) runs and forward does not: the application's writes on new flow back to old");
    }
    return Optional.empty();
  }

  /** A service whose last switch recorded on old is released to new, with no later one released back to old on new. */
  private static Optional<String> releasedToNew(Connection old, Connection nw) throws SQLException {
    if (!may(old, "cutover.service_names()") || !may(old, "cutover.service_status(text)")) {
      return Optional.empty();
    }
    boolean newReadable = may(nw, "cutover.service_names()") && may(nw, "cutover.service_status(text)");
    for (String service : OperatorControl.services(old)) {
      Optional<OperatorControl.SwitchView> there = OperatorControl.read(old, service).lastSwitch()
          .filter(s -> s.state() == SwitchState.RELEASED && "new".equals(s.target()));
      if (there.isEmpty()) {
        continue;
      }
      Optional<OperatorControl.SwitchView> back = newReadable ? OperatorControl.read(nw, service).lastSwitch()
          .filter(s -> s.state() == SwitchState.RELEASED && "old".equals(s.target()))
          .filter(s -> s.updatedAt() != null && there.get().updatedAt() != null && s.updatedAt().isAfter(there.get().updatedAt()))
          : Optional.empty();
      if (back.isEmpty()) {
        return Optional.of("old's control schema records switch " + there.get().id() + " of service " + service
            + " to new as released (the application's writes go to new)");
      }
    }
    return Optional.empty();
  }

  /** Whether the role may call {@code function} (false where the control schema, or that function of it, is missing). */
  private static boolean may(Connection c, String function) throws SQLException {
    return Sql.bool(c, "SELECT coalesce(has_function_privilege(to_regprocedure(?), 'EXECUTE'), false)", function);
  }
}
