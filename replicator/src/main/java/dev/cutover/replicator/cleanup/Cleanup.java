package dev.cutover.replicator.cleanup;

import dev.cutover.common.Transactions;
import dev.cutover.driver.control.ControlSchema;
import dev.cutover.replicator.Failure;
import dev.cutover.replicator.Names;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.apply.Way;
import dev.cutover.replicator.capture.CaptureSchema;
import dev.cutover.replicator.copy.LeftAside;
import dev.cutover.replicator.ddl.DdlCapture;
import dev.cutover.replicator.replication.ReplicationObjects;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code cleanup}: removes from both databases what the replicator created for this migration, and
 * nothing else: the subscriptions, publications and slots named for its label (slots only of this
 * database), trigger capture (capture triggers, change log), then the control schema with its
 * fence triggers, heartbeat table and apply positions, unless another migration's objects still
 * use this database. Idempotent: a second run finds nothing and says so. While an apply process
 * still holds either side it refuses before removing anything.
 *
 * <p>Before the control schema on new goes, what a start that did not finish set aside there
 * (indexes, constraints, foreign keys) is put back from the record the schema holds
 * ({@link LeftAside}); without it new would lose those for good.
 *
 * <p>Order: subscriptions first (on both sides), so no walsender needs the slots any more; then
 * slots, waiting for walsenders to let go; then publications; then the control schema.
 */
public final class Cleanup {
  /**
   * What was removed, per side, e.g. {@code subscription cutover_fwd_app}; what was put back on new
   * that an interrupted start had set aside, e.g. {@code index public.t1_grp}; and what was kept,
   * because another migration uses it or new's rows do not satisfy a foreign key yet.
   */
  public record Report(List<String> removedOnOld, List<String> removedOnNew, List<String> putBackOnNew, List<String> kept) {
    public boolean nothingFound() {
      return removedOnOld.isEmpty() && removedOnNew.isEmpty() && putBackOnNew.isEmpty();
    }
  }

  private Cleanup() {}

  /**
   * Removes, over {@code o} and {@code n} (connections to old and new), what the replicator created
   * for the migration {@code names} labels.
   *
   * @param slotWait how long a slot's walsender may hold it before it is terminated
   * @param putBack runs {@link LeftAside#putBack} on {@code n}: its index builds take as long as their
   *     tables, so the caller may run it without the read limit its other statements have
   */
  public static Report run(Connection o, Connection n, Names names, Duration slotWait, Transactions.Work<LeftAside.Result> putBack)
      throws Exception {
    List<String> onOld = new ArrayList<>();
    List<String> onNew = new ArrayList<>();
    List<String> kept = new ArrayList<>();
    List<String> ours = List.of(names.forward(), names.reverse());
    refuseWhileApplying(o, "old");
    refuseWhileApplying(n, "new");
    uncapture(o, "old", onOld);
    uncapture(n, "new", onNew);
    for (String name : ours) {
      if (ReplicationObjects.dropSubscription(n, name)) {
        onNew.add("subscription " + name);
      }
      if (ReplicationObjects.dropSubscription(o, name)) {
        onOld.add("subscription " + name);
      }
    }
    for (String name : ours) {
      if (ReplicationObjects.dropSlot(o, name, slotWait)) {
        onOld.add("replication slot " + name);
      }
      if (ReplicationObjects.dropSlot(n, name, slotWait)) {
        onNew.add("replication slot " + name);
      }
    }
    for (String name : ours) {
      if (ReplicationObjects.dropPublication(o, name)) {
        onOld.add("publication " + name);
      }
      if (ReplicationObjects.dropPublication(n, name)) {
        onNew.add("publication " + name);
      }
    }
    uninstall(o, "old", onOld, kept);
    LeftAside.Result back = putBack.run();
    if (back.unsatisfied().isEmpty()) {
      uninstall(n, "new", onNew, kept);
    } else {
      kept.add("the control schema on new, whose record of foreign key(s) " + String.join(", ", back.unsatisfied())
          + " that an interrupted start set aside it holds: new's rows do not satisfy them; empty new's tables (start copies into"
          + " empty tables only), then run cleanup again to add them back");
    }
    return new Report(onOld, onNew, back.restored(), kept);
  }

  /** Refuses while an apply process still writes into this side: cleanup would pull its tables from under it. */
  private static void refuseWhileApplying(Connection c, String side) throws SQLException, ReplicatorException {
    for (String way : List.of(Way.FORWARD, Way.REVERSE)) {
      if (Way.applying(c, way)) {
        throw new ReplicatorException(Failure.PRECONDITION, side + ": `cutover-replicator apply` still applies " + way + " here",
            "stop it first (once the cutover is final, nothing needs applying); nothing was removed");
      }
    }
  }

  /** Removes trigger capture from one side: its triggers, change log and functions. */
  private static void uncapture(Connection c, String side, List<String> removed) throws SQLException, ReplicatorException {
    int tables = CaptureSchema.uninstall(c, side);
    if (tables > 0) {
      removed.add("capture triggers on " + tables + " table(s) and the change log");
    }
  }

  /** Removes the control schema, unless another migration still has objects in this database. */
  private static void uninstall(Connection c, String side, List<String> removed, List<String> kept) throws SQLException {
    List<String> others = new ArrayList<>(ReplicationObjects.ourSubscriptions(c));
    others.addAll(ReplicationObjects.ourPublications(c));
    others.addAll(ReplicationObjects.ourSlots(c));
    if (!others.isEmpty()) {
      kept.add("the control schema on " + side + ", which another migration's " + String.join(", ", others) + " still use");
      return;
    }
    long triggers = Sql.number(c, "SELECT count(*) FROM pg_trigger WHERE tgname = 'cutover_fence'");
    boolean schema = Sql.bool(c, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'cutover')");
    if (DdlCapture.installed(c)) {
      DdlCapture.uninstall(c);
      removed.add("schema change capture (event triggers cutover_ddl_*)");
    }
    if (triggers > 0 || schema) {
      ControlSchema.uninstall(c);
      if (triggers > 0) {
        removed.add(triggers + " cutover_fence trigger(s)");
      }
      if (schema) {
        removed.add("schema cutover");
      }
    }
  }
}
