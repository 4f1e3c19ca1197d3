package dev.cutover.driver.switching;

import dev.cutover.driver.control.Coordination;
import dev.cutover.driver.control.Fence;
import dev.cutover.flags.Target;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Optional;

/**
 * Where a service serves now, for an instance that starts: it routes there first and then follows
 * its flag, once the flag has delivered a value. A default ({@code cutover.flag.default}) is no
 * decision, so an instance started while its flag source is unreachable never moves the service.
 */
final class ServingSide {
  private ServingSide() {}

  /**
   * Old's fence says it: raised, traffic moved to new (or a switch from old is fencing it now, and
   * then the instance starts on old and joins that switch). Without the control schema nothing
   * records it, and the URL's database (old) serves until the flag moves it.
   */
  static Target atStart(Connection old, boolean control, String service) throws SQLException {
    if (!control || !Fence.isRaised(old)) {
      return Target.OLD;
    }
    Optional<Coordination.Decision> last = Coordination.decision(old, service);
    boolean inProgress = last.isPresent() && !last.get().released() && !last.get().aborted();
    return inProgress ? Target.OLD : Target.NEW;
  }
}
