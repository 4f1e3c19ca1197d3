package dev.cutover.replicator.cleanup;

import dev.cutover.driver.control.ControlSchema;
import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.replication.ReplicationObjects;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code cleanup}: removes from both databases what the replicator created, and nothing else:
 * subscriptions, publications and slots whose names start with {@code cutover_} (slots only of
 * this database), then the control schema with its fence triggers and heartbeat table.
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
