package dev.cutover.replicator.operator;

import dev.cutover.replicator.Failure;
import dev.cutover.replicator.FirstLine;
import dev.cutover.replicator.ReplicatorException;
import java.sql.SQLException;

/**
 * What an operator command tells of a control-plane call that failed: a role without the grant
 * (42501, exit 4), a control schema missing or older than this replicator (3F000, 42883, exit 5),
 * a lock held by another session past the command's timeout (55P03, exit 8), or else a database
 * that did not answer (exit 3); each with its remedy.
 */
final class ControlPlaneFailure {
  /** The remedy for a role that may not use the operator view or the abort. */
  static final String GRANT = "connect as a role granted the control plane (`cutover-replicator start --app-role ROLE`"
      + " grants it, as does ControlSchema.install with the role) or as the role that installed it";

  private ControlPlaneFailure() {}

  /**
   * @param side the side's label, {@code old} or {@code new}
   * @param what what the operator could not do, e.g. {@code read the control schema}
   * @param privilegeRemedy the remedy for a role without the grant
   */
  static ReplicatorException of(String side, String what, String privilegeRemedy, SQLException e) {
    String message = FirstLine.of(e);
    return switch (e.getSQLState() == null ? "" : e.getSQLState()) {
      case "42501" -> new ReplicatorException(Failure.PRIVILEGE, side + ": this role may not " + what + ": " + message,
          privilegeRemedy, e);
      case "3F000", "42883" -> new ReplicatorException(Failure.PRECONDITION, side + ": the control schema here is missing"
          + " or older than this replicator, so an operator cannot " + what + " through it: " + message,
          "install the current control schema on both sides (`cutover-replicator start`, or ControlSchema.install, as"
              + " its installer upgrades it in place; drivers of the same version are needed)", e);
      case "55P03" -> new ReplicatorException(Failure.TIMEOUT, side + ": cannot " + what + ": another session held the"
          + " switch's row or the fence's lock longer than --network-timeout (" + message + "); nothing was changed",
          "a switch's leader holds them for at most its drain timeout: run the command again; a session that keeps them"
              + " (pg_locks joined to pg_stat_activity on " + side + " names it) must end first", e);
      default -> new ReplicatorException(Failure.CONNECTION, side + ": cannot " + what + ": " + message,
          "check --" + side + "-url and that the database answers", e);
    };
  }

}
