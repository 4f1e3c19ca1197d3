package dev.cutover.replicator.cleanup;

import dev.cutover.driver.control.ControlSchema;
import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.Failure;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.apply.Way;
import dev.cutover.replicator.capture.CaptureSchema;
import dev.cutover.replicator.replication.ReplicationObjects;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code cleanup}: removes from both databases what the replicator created, and nothing else:
 * trigger capture (capture triggers, change log), subscriptions, publications and slots whose
 * names start with {@code cutover_} (slots only of this database), then the control schema with
 * its fence triggers, heartbeat table and apply positions.
 * Idempotent: a second run finds nothing and says so.
 *
 * <p>Order: subscriptions first (on both sides), so no walsender needs the slots any more; then
 * slots, waiting for walsenders to let go; then publications; then the control schema.
 */
public final class Cleanup {
  /** What was removed, per side, e.g. {@code subscription cutover_fwd}. */
  public record Report(List<String> removedOnOld, List<String> removedOnNew) {
    public boolean nothingFound() {
      return removedOnOld.isEmpty() && removedOnNew.isEmpty();
    }
  }

  private Cleanup() {}

  public static Report run(Endpoint old, Endpoint nw, Duration slotWait) throws Exception {
    List<String> onOld = new ArrayList<>();
    List<String> onNew = new ArrayList<>();
    try (Connection o = old.connect(); Connection n = nw.connect()) {
      refuseWhileApplying(o, "old");
      refuseWhileApplying(n, "new");
      uncapture(o, onOld);
      uncapture(n, onNew);
      for (String sub : ReplicationObjects.ourSubscriptions(n)) {
        ReplicationObjects.dropSubscription(n, sub);
        onNew.add("subscription " + sub);
      }
      for (String sub : ReplicationObjects.ourSubscriptions(o)) {
        ReplicationObjects.dropSubscription(o, sub);
        onOld.add("subscription " + sub);
      }
      for (String slot : ReplicationObjects.ourSlots(o)) {
        ReplicationObjects.dropSlot(o, slot, slotWait);
        onOld.add("replication slot " + slot);
      }
      for (String slot : ReplicationObjects.ourSlots(n)) {
        ReplicationObjects.dropSlot(n, slot, slotWait);
        onNew.add("replication slot " + slot);
      }
      for (String pub : ReplicationObjects.ourPublications(o)) {
        ReplicationObjects.dropPublication(o, pub);
        onOld.add("publication " + pub);
      }
      for (String pub : ReplicationObjects.ourPublications(n)) {
        ReplicationObjects.dropPublication(n, pub);
        onNew.add("publication " + pub);
      }
      uninstall(o, onOld);
      uninstall(n, onNew);
    }
    return new Report(onOld, onNew);
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
  private static void uncapture(Connection c, List<String> removed) throws SQLException {
    int tables = CaptureSchema.uninstall(c);
    if (tables > 0) {
      removed.add("capture triggers on " + tables + " table(s) and the change log");
    }
  }

  private static void uninstall(Connection c, List<String> removed) throws SQLException {
    long triggers = Sql.number(c, "SELECT count(*) FROM pg_trigger WHERE tgname = 'cutover_fence'");
    boolean schema = Sql.bool(c, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'cutover')");
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
