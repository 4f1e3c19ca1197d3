package dev.cutover.replicator.capture;

import dev.cutover.driver.control.ControlSchema;
import dev.cutover.driver.control.OperatorControl;
import dev.cutover.replicator.Failure;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.apply.ApplyProgress;
import dev.cutover.replicator.apply.RelayProgress;
import dev.cutover.replicator.replication.ReplicationObjects;
import dev.cutover.replicator.apply.Way;
import dev.cutover.replicator.replication.Heartbeat;
import dev.cutover.replicator.replication.Reverse;
import dev.cutover.replicator.sql.Catalog;
import dev.cutover.replicator.sql.ShortLocks;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.replicator.sql.TableName;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * {@code reverse} with trigger capture: arms new → old beside old → new, before the switch.
 * Capture triggers go onto new's tables and old gets an apply position at the snapshot taken in
 * the same transaction (see {@link CaptureSchema#addTriggers}), so every write the application
 * makes on new after a switch is carried back, whenever it happens. Both directions run at once
 * on every version: a change applied by the apply process is never captured again (its writes
 * run with {@code session_replication_role = replica}, or with the capture triggers of the tables
 * it writes turned off inside its transaction), so nothing loops, and new's log stays empty until
 * the application writes there. Once armed there is nothing to do at a switch or a flip back.
 */
public final class CaptureReverse {
  private CaptureReverse() {}

  /**
   * Arms new → old over {@code o} and {@code n}, connections to old and new; refuses when forward
   * does not run with trigger capture or reverse is armed already, and, unless {@code
   * acceptMissingWrites}, when old is fenced: traffic moved to new before the way back was armed, so
   * the writes new took since would never reach old.
   */
  public static Reverse.Report arm(Connection o, Connection n, boolean acceptMissingWrites) throws SQLException, ReplicatorException {
    return arm(o, n, acceptMissingWrites, ShortLocks.TRYING);
  }

  /** {@link #arm(Connection, Connection, boolean)}, locking new's tables for the triggers for up to {@code trying}. */
  static Reverse.Report arm(Connection o, Connection n, boolean acceptMissingWrites, Duration trying)
      throws SQLException, ReplicatorException {
    List<String> steps = new ArrayList<>();
    Optional<RelayProgress.Position> relayed = RelayProgress.read(n);
    if (!CaptureWays.forwardArmed(n) && relayed.isEmpty()) {
      throw new ReplicatorException(Failure.PRECONDITION, "old -> new runs neither with trigger capture nor relayed",
          "run `cutover-replicator start --capture triggers` (or `--capture relay`) first");
    }
    if (CaptureWays.reverseArmed(o)) {
      throw new ReplicatorException(Failure.PRECONDITION, "old already has an apply position for new -> old: it is armed",
          "see `cutover-replicator status`");
    }
    if (ControlSchema.installedVersion(o).isEmpty() || ControlSchema.installedVersion(n).isEmpty()) {
      throw new ReplicatorException(Failure.PRECONDITION, "the control schema is missing on old or new",
          "run `cutover-replicator start` first");
    }
    if (OperatorControl.fenceRaised(o)) {
      if (!acceptMissingWrites) {
        throw new ReplicatorException(Failure.PRECONDITION, "old is fenced: traffic moved to new before the way back was armed,"
            + " so capture armed now would miss every write committed on new since the switch",
            "arm reverse before the switch next time; to arm this way back anyway, run reverse --accept-missing-writes and"
                + " reconcile those writes on old (cutover-replicator verify lists them)");
      }
      steps.add("old is fenced: writes committed on new between the switch and now are NOT carried back"
          + " (--accept-missing-writes); reconcile them on old (cutover-replicator verify lists them)");
    }
    CaptureStart.requireOwner(n, "new", Catalog.applicationTables(n));
    CaptureStart.requireOwner(o, "old", Catalog.applicationTables(o));
    Heartbeat.install(n);
    List<TableName> tables = CaptureStart.capturable(n);
    ChangeLog.Tick start;
    try {
      CaptureSchema.install(n);
      if (Sql.majorVersionOf(o) < 10) {
        CaptureSchema.logStructuredAsText(n);
      }
      if (Sql.majorVersionOf(o) < 12 && Sql.majorVersionOf(n) >= 12) {
        CaptureSchema.logRealsExactly(n);
      }
      start = CaptureSchema.addTriggers(n, "new", tables, trying);
      ChangeLog.keep(n, start); // the position's tick, kept on new (ChangeLog#requireHoldsTick)
      ApplyProgress.arm(o, Way.REVERSE, start);
    } catch (SQLException | ReplicatorException | RuntimeException e) {
      // Not armed: a change log on new that nothing applies would only grow, and status would take it for a broken way back.
      try {
        CaptureSchema.uninstall(n, "new");
      } catch (SQLException | ReplicatorException undo) {
        e.addSuppressed(undo);
      }
      throw e;
    }
    steps.add("capture triggers on " + tables.size() + " table(s) of new, change log in schema cutover on new");
    if (relayed.isPresent()) {
      // Each reverse batch marks itself with this table's row, which the relay must see to leave it out.
      ReplicationObjects.publish(o, "old", relayed.get().publication(), ApplyProgress.NAME);
      steps.add("old -> new is relayed: each batch applied into old begins with a write of " + ApplyProgress.TABLE
          + " (published to the slot), by which the relay leaves it out");
    }
    steps.add("old applies new's changes from snapshot " + start.snapshot() + " on (taken as the triggers were added, so no write"
        + " made on new from now on is missed); a running `cutover-replicator apply` picks new -> old up within a second");
    steps.add("both directions run together: applied changes are not captured again, so nothing loops");
    return new Reverse.Report("new -> old", "capture", null, steps);
  }
}
