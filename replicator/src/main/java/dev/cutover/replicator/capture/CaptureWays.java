package dev.cutover.replicator.capture;

import dev.cutover.driver.control.ControlSchema;
import dev.cutover.driver.control.OperatorControl;
import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.apply.ApplyProgress;
import dev.cutover.replicator.apply.RelayProgress;
import dev.cutover.replicator.apply.Way;
import java.sql.Connection;
import java.sql.SQLException;

/**
 * Which directions of trigger capture are armed, and which one carries the serving side's writes
 * now. Both may be armed at once (they never loop: applied changes are not captured), so the
 * serving side is told by the fence: after a switch to new, old is fenced and new → old carries
 * what the application writes.
 */
public final class CaptureWays {
  private CaptureWays() {}

  /** Whether forward (old → new) is armed: new holds its apply position. */
  public static boolean forwardArmed(Connection nw) throws SQLException {
    return ApplyProgress.armed(nw, Way.FORWARD);
  }

  /** Whether reverse (new → old) is armed: old holds its apply position. */
  public static boolean reverseArmed(Connection old) throws SQLException {
    return ApplyProgress.armed(old, Way.REVERSE);
  }

  /**
   * The way from the serving side: reverse when it is armed and old is fenced (or forward is
   * neither armed nor relayed), else forward when armed; null without trigger capture from the
   * serving side (relayed replication forward is not trigger capture).
   */
  public static Way serving(Connection o, Connection n, Endpoint old, Endpoint nw) throws SQLException {
    boolean forward = forwardArmed(n);
    boolean reverse = reverseArmed(o);
    if (reverse && (!forward && !RelayProgress.armed(n) || ControlSchema.installedVersion(o).isPresent() && OperatorControl.fenceRaised(o))) {
      return Way.reverse(old, nw);
    }
    return forward ? Way.forward(old, nw) : null;
  }
}
