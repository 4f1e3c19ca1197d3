package dev.cutover.replicator.operator;

import dev.cutover.driver.control.OperatorControl;
import dev.cutover.replicator.BoundedRead;
import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.ReplicatorException;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The operator's actions on a service's switches, through {@link OperatorControl} so that the
 * control plane's privileges decide who may: abort the switch in progress (for the roles granted
 * the control plane) and force the next switches without the replication proof (for the installer
 * only). A control schema without these functions is refused with the remedy rather than worked
 * around: writing its tables directly would let a leader release a switch its followers had
 * abandoned.
 */
public final class SwitchControl {
  /** The setting that gives these commands longer. */
  private static final String OPTION = "--network-timeout";

  private SwitchControl() {}

  /**
   * Asks for the abort of {@code service}'s switch in progress on {@code endpoint} (the side it
   * started from), its statements answered within {@code timeout}: the abort waits for the fence's
   * lock, which a switch holds for at most its drain timeout, and an operator's emergency command
   * must not hang on a silent network or a stuck holder.
   */
  public static OperatorControl.AbortOutcome abort(Endpoint endpoint, String service, String reason, Duration timeout)
      throws ReplicatorException {
    try (Connection c = endpoint.connect()) {
      return BoundedRead.locking(timeout, OPTION, Map.of(endpoint.side().label(), c), c,
          () -> OperatorControl.abort(c, service, reason));
    } catch (SQLException e) {
      throw ControlPlaneFailure.of(endpoint.side().label(), "abort a switch (cutover.request_abort)",
          ControlPlaneFailure.GRANT, e);
    }
  }

  /**
   * The leader of {@code service}'s switch in progress on {@code endpoint} if it stalled behind its
   * fence ({@link OperatorControl#stalledLeader}), its statements answered within {@code timeout}.
   */
  public static Optional<OperatorControl.StalledLeader> stalledLeader(Endpoint endpoint, String service,
      Duration timeout) throws ReplicatorException {
    try (Connection c = endpoint.connect()) {
      return BoundedRead.within(timeout, OPTION, Map.of(endpoint.side().label(), c),
          () -> OperatorControl.stalledLeader(c, service));
    } catch (SQLException e) {
      throw ControlPlaneFailure.of(endpoint.side().label(), "look for a stalled leader (cutover.stalled_leader)",
          ControlPlaneFailure.GRANT, e);
    }
  }

  /**
   * The barrier marker of {@code service}'s leaderless switch in progress on {@code source} that has
   * arrived on {@code target} ({@link OperatorControl#barrierPassed}), its statements answered
   * within {@code timeout}.
   */
  public static Optional<String> barrierPassed(Endpoint source, Endpoint target, String service, Duration timeout)
      throws ReplicatorException {
    try (Connection s = source.connect(); Connection t = target.connect()) {
      return BoundedRead.within(timeout, OPTION, Map.of(source.side().label(), s, target.side().label(), t),
          () -> OperatorControl.barrierPassed(s, t, service));
    } catch (SQLException e) {
      throw ControlPlaneFailure.of(source.side().label() + " and " + target.side().label(),
          "look for the switch's barrier marker (cutover.recent_barriers)", ControlPlaneFailure.GRANT, e);
    }
  }

  /**
   * The services {@code endpoint}'s control schema knows of (instances, switches, force settings),
   * its statements answered within {@code timeout}: what {@code switch-force} checks a name against.
   */
  public static List<String> services(Endpoint endpoint, Duration timeout) throws ReplicatorException {
    try (Connection c = endpoint.connect()) {
      return BoundedRead.within(timeout, OPTION, Map.of(endpoint.side().label(), c), () -> OperatorControl.services(c));
    } catch (SQLException e) {
      throw ControlPlaneFailure.of(endpoint.side().label(), "read the control schema", ControlPlaneFailure.GRANT, e);
    }
  }

  /**
   * Sets whether {@code service}'s next switches from {@code endpoint} go without the probe and the
   * barrier, its statements answered within {@code timeout}.
   */
  public static void force(Endpoint endpoint, String service, boolean force, Duration timeout) throws ReplicatorException {
    try (Connection c = endpoint.connect()) {
      BoundedRead.locking(timeout, OPTION, Map.of(endpoint.side().label(), c), c, () -> {
        OperatorControl.setForce(c, service, force);
        return null;
      });
    } catch (SQLException e) {
      throw ControlPlaneFailure.of(endpoint.side().label(), "force switches (cutover.set_force)",
          "connect as the role that installed the control schema (the replicator's) or a superuser: forcing is"
              + " theirs alone", e);
    }
  }
}
