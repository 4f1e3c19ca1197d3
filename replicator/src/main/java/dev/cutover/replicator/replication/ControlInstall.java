package dev.cutover.replicator.replication;

import dev.cutover.common.LockRetry;
import dev.cutover.driver.control.ControlSchema;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.sql.Catalog;
import dev.cutover.replicator.sql.ShortLocks;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;

/**
 * {@code start}'s install of the control schema on old and new. Its fence trigger goes onto every
 * application table, so a transaction left holding one (prepared for two-phase commit, or idle in
 * a write) refuses it: that refusal names the side, the table and the transaction, exit 8, as
 * start's other lock waits do ({@link ShortLocks}), and any failure takes the schema away again
 * from a side where this start made it, so a failed start leaves no control schema it added.
 */
public final class ControlInstall {
  private ControlInstall() {}

  /** Installs the control schema on {@code o} (old), then {@code n} (new), for {@code roles} (see {@link ControlSchema#install}). */
  public static void onBoth(Connection o, Connection n, List<String> roles) throws SQLException, ReplicatorException {
    boolean onOld = ControlSchema.installedVersion(o).isPresent();
    boolean onNew = ControlSchema.installedVersion(n).isPresent();
    try {
      install(o, "old", roles);
      install(n, "new", roles);
    } catch (SQLException | ReplicatorException | RuntimeException e) {
      if (!onNew) {
        removeQuietly(n, e);
      }
      if (!onOld) {
        removeQuietly(o, e);
      }
      throw e;
    }
  }

  private static void install(Connection c, String side, List<String> roles) throws SQLException, ReplicatorException {
    try {
      ControlSchema.install(c, roles);
    } catch (SQLException e) {
      if (LockRetry.refusedForALock(e)) {
        throw ShortLocks.held(c, side, Catalog.applicationTables(c), "to add the control schema's fence trigger",
            ControlSchema.LOCK_RETRY, e).orElseThrow(() -> e);
      }
      throw e;
    }
  }

  private static void removeQuietly(Connection c, Exception cause) {
    try {
      ControlSchema.uninstall(c);
    } catch (SQLException e) {
      cause.addSuppressed(e);
    }
  }
}
