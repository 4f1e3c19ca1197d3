package dev.cutover.replicator.operator;

import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.Failure;
import dev.cutover.replicator.ReplicatorException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/**
 * The operator's actions on a service's switches, through the control plane's own functions so
 * that its privileges decide who may: abort the switch in progress ({@code cutover.request_abort},
 * for the roles granted the control plane) and force the next switches without the replication
 * proof ({@code cutover.set_force}, for the installer only). A control schema without these
 * functions (version 1) is refused with the remedy rather than worked around: writing its tables
 * directly would let a leader release a switch its followers had abandoned.
 */
public final class SwitchControl {
  private SwitchControl() {}

  /**
   * Asks for the abort of {@code service}'s switch in progress on {@code endpoint} (the side it
   * started from).
   *
   * @return what the control schema answered: {@code none}, {@code requested}, {@code aborted} or
   *     {@code released}
   */
  public static String abort(Endpoint endpoint, String service, String reason) throws ReplicatorException {
    return call(endpoint, "cutover.request_abort", "SELECT cutover.request_abort(?, ?)", "abort a switch", ps -> {
      ps.setString(1, service);
      ps.setString(2, reason);
    });
  }

  /** Sets whether {@code service}'s next switches from {@code endpoint} go without the probe and the barrier. */
  public static void force(Endpoint endpoint, String service, boolean force) throws ReplicatorException {
    call(endpoint, "cutover.set_force", "SELECT cutover.set_force(?, ?)", "force switches", ps -> {
      ps.setString(1, service);
      ps.setBoolean(2, force);
    });
  }

  private interface Binder {
    void bind(PreparedStatement ps) throws SQLException;
  }

  private static String call(Endpoint endpoint, String function, String sql, String what, Binder binder)
      throws ReplicatorException {
    String side = endpoint.side().label();
    try (Connection c = endpoint.connect()) {
      try (PreparedStatement ps = c.prepareStatement("SELECT to_regprocedure(?) IS NOT NULL")) {
        ps.setString(1, function + (function.endsWith("set_force") ? "(text,boolean)" : "(text,text)"));
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          if (!rs.getBoolean(1)) {
            throw new ReplicatorException(Failure.PRECONDITION, side + ": the control schema here has no " + function
                + "(), so an operator cannot " + what + " through it",
                "install the current control schema on both sides (`cutover-replicator start` does; drivers of the"
                    + " same version are needed), or set cutover.switch.force and redeploy");
          }
        }
      }
      try (PreparedStatement ps = c.prepareStatement(sql)) {
        binder.bind(ps);
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next() ? rs.getString(1) : null;
        }
      }
    } catch (SQLException e) {
      if ("42501".equals(e.getSQLState())) {
        throw new ReplicatorException(Failure.PRIVILEGE, side + ": this role may not " + what + " (" + function + ")",
            "connect as a role the control plane was granted to (start --app-role) or, to force, as its installer", e);
      }
      throw new ReplicatorException(Failure.CONNECTION, side + ": cannot " + what + ": " + e.getMessage(),
          "check --" + side + "-url and that the database answers", e);
    }
  }
}
