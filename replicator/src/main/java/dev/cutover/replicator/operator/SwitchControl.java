package dev.cutover.replicator.operator;

import dev.cutover.driver.control.OperatorControl;
import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.ReplicatorException;
import java.sql.Connection;
import java.sql.SQLException;

/**
 * The operator's actions on a service's switches, through {@link OperatorControl} so that the
 * control plane's privileges decide who may: abort the switch in progress (for the roles granted
 * the control plane) and force the next switches without the replication proof (for the installer
 * only). A control schema without these functions is refused with the remedy rather than worked
 * around: writing its tables directly would let a leader release a switch its followers had
 * abandoned.
 */
public final class SwitchControl {
  private SwitchControl() {}

  /** Asks for the abort of {@code service}'s switch in progress on {@code endpoint} (the side it started from). */
  public static OperatorControl.AbortOutcome abort(Endpoint endpoint, String service, String reason)
      throws ReplicatorException {
    try (Connection c = endpoint.connect()) {
      return OperatorControl.abort(c, service, reason);
    } catch (SQLException e) {
      throw ControlPlaneFailure.of(endpoint.side().label(), "abort a switch (cutover.request_abort)",
          ControlPlaneFailure.GRANT, e);
    }
  }

  /** Sets whether {@code service}'s next switches from {@code endpoint} go without the probe and the barrier. */
  public static void force(Endpoint endpoint, String service, boolean force) throws ReplicatorException {
    try (Connection c = endpoint.connect()) {
      OperatorControl.setForce(c, service, force);
    } catch (SQLException e) {
      throw ControlPlaneFailure.of(endpoint.side().label(), "force switches (cutover.set_force)",
          "connect as the role that installed the control schema (the replicator's) or a superuser: forcing is"
              + " theirs alone", e);
    }
  }
}
