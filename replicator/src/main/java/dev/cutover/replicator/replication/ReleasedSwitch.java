package dev.cutover.replicator.replication;

import dev.cutover.driver.control.OperatorControl;
import dev.cutover.driver.control.SwitchState;
import dev.cutover.replicator.operator.SwitchOrder;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Optional;

/**
 * A switch that already moved the application: the last switch of a service recorded on the side
 * it left is released toward the other side, and no switch of that service was released back
 * since (a switch is recorded on the side it leaves). Which of the two releases came later is
 * never read from old's updated_at against new's, each written by its own server's clock, but from
 * the fence epochs both record, else each record's age on its own server ({@link SwitchOrder}). {@code reverse --prepare} run too late
 * and {@code sync-large-objects} after the switch ask this. A side whose control schema the role
 * may not read (or that has none) tells nothing.
 */
record ReleasedSwitch(String service, OperatorControl.SwitchView view) {
  /** The first such switch recorded on {@code left} toward {@code target}, whose serving side {@code serving} is connected to. */
  static Optional<ReleasedSwitch> toward(Connection left, Connection serving, String target) throws SQLException {
    if (!readable(left)) {
      return Optional.empty();
    }
    boolean servingReadable = readable(serving);
    SwitchOrder.Clock leftClock = SwitchOrder.Clock.read(left);
    SwitchOrder.Clock servingClock = servingReadable ? SwitchOrder.Clock.read(serving) : null;
    for (String service : OperatorControl.services(left)) {
      Optional<OperatorControl.SwitchView> there = OperatorControl.read(left, service).lastSwitch()
          .filter(s -> s.state() == SwitchState.RELEASED && target.equals(s.target()));
      if (there.isEmpty()) {
        continue;
      }
      Optional<OperatorControl.SwitchView> since = servingReadable ? OperatorControl.read(serving, service).lastSwitch()
          .filter(s -> s.state() == SwitchState.RELEASED) : Optional.empty();
      boolean back = since.isPresent() && SwitchOrder.later(SwitchOrder.record(serving, service, since.get(), servingClock),
          SwitchOrder.record(left, service, there.get(), leftClock));
      if (!back) {
        return Optional.of(new ReleasedSwitch(service, there.get()));
      }
    }
    return Optional.empty();
  }

  private static boolean readable(Connection c) throws SQLException {
    return Sql.mayExecute(c, "cutover.service_names()") && Sql.mayExecute(c, "cutover.service_status(text)");
  }
}
