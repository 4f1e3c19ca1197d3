package dev.cutover.replicator.replication;

import dev.cutover.driver.control.Barrier;
import dev.cutover.driver.control.ControlSchema;
import dev.cutover.driver.control.Fence;
import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.Failure;
import dev.cutover.replicator.Names;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.LockSupport;

/**
 * {@code reverse}: arms replication from new back to old, so that flipping back loses nothing.
 *
 * <p>Two ways, chosen by version. Where both servers are 16 or newer, both subscriptions get
 * {@code origin = none}: each side publishes only changes made locally, so forward and reverse
 * run together without a loop, and reverse can be armed before the switch. Older servers cannot
 * filter by origin (a PostgreSQL 12 subscriber cannot ask for it), so a row replicated to new
 * would come straight back; there reverse may only start once forward has nothing left to carry:
 * old is fenced (the switch raised the fence), a barrier marker written on old after the fence
 * has reached new, and forward is dropped. Only then is reverse created, without an initial copy.
 * To miss nothing, {@link #prepare} it before the switch: the reverse publication is created on new
 * and the switch's leader creates the reverse slot after its barrier and before release, so the
 * slot starts exactly where new begins to take writes, and {@link #arm} later streams from it.
 * Unprepared, writes committed on new between the switch's release and {@code arm} are not
 * carried back.
 */
public final class Reverse {
  /**
   * How to arm it.
   *
   * @param waitForFence how long to wait for old's fence on servers older than 16 (zero: refuse at once)
   * @param drainTimeout how long the barrier may take to reach new
   */
  public record Options(Duration waitForFence, Duration drainTimeout) {}

  /**
   * What was done.
   *
   * @param mode {@code two-way} (origin = none, forward kept) or {@code after-fence} (forward dropped first)
   * @param slot the slot on new the reverse subscription streams from
   * @param steps what was done, in order
   */
  public record Report(String mode, String slot, List<String> steps) {}

  private Reverse() {}

  /**
   * Before the switch, on servers that cannot filter by origin: creates the reverse publication on
   * new and asks the switch to create the reverse slot at the fence. With 16+ on both sides there
   * is nothing to prepare: {@link #arm} can run at any time.
   *
   * @return what was done
   */
  public static List<String> prepare(Endpoint old, Endpoint nw, Names names) throws ReplicatorException, SQLException {
    List<String> steps = new ArrayList<>();
    try (Connection o = old.connect(); Connection n = nw.connect()) {
      if (Sql.majorVersion(o) >= 16 && Sql.majorVersion(n) >= 16) {
        steps.add("nothing to prepare: with 16+ on both sides, reverse can be armed at any time");
        return steps;
      }
      if (ControlSchema.installedVersion(n).isEmpty()) {
        throw new ReplicatorException(Failure.PRECONDITION, "the control schema is missing on new",
            "run `cutover-replicator start` first");
      }
      Heartbeat.install(n);
      if (ReplicationObjects.createPublication(n, Names.REVERSE)) {
        steps.add("publication " + Names.REVERSE + " created on new");
      }
      Sql.string(n, "SELECT cutover.request_slot_at_switch(?)::text", names.reverseSlot());
      steps.add("the switch will create slot " + names.reverseSlot() + " on new after its barrier and before release;"
          + " run `cutover-replicator reverse` after the switch to stream from it");
    }
    return steps;
  }

  public static Report arm(Endpoint old, Endpoint nw, Names names, Options options) throws ReplicatorException, SQLException {
    List<String> steps = new ArrayList<>();
    try (Connection o = old.connect(); Connection n = nw.connect()) {
      ForwardStart.requirePrivileges(n, "new", o, "old");
      if (ReplicationObjects.subscriptionExists(o, Names.REVERSE)) {
        throw new ReplicatorException(Failure.PRECONDITION, "old already has subscription " + Names.REVERSE + ": reverse is armed",
            "see `cutover-replicator status`");
      }
      String walLevel = Sql.string(n, "SHOW wal_level");
      if (!"logical".equals(walLevel)) {
        throw new ReplicatorException(Failure.PRECONDITION, "new has wal_level = " + walLevel + ", reverse replication needs logical",
            "ALTER SYSTEM SET wal_level = logical and restart new");
      }
      if (ControlSchema.installedVersion(o).isEmpty() || ControlSchema.installedVersion(n).isEmpty()) {
        throw new ReplicatorException(Failure.PRECONDITION, "the control schema is missing on old or new",
            "run `cutover-replicator start` first");
      }
      int oldMajor = Sql.majorVersion(o);
      int newMajor = Sql.majorVersion(n);
      boolean twoWay = oldMajor >= 16 && newMajor >= 16;
      String mode;
      boolean prepared = false;
      if (twoWay) {
        mode = "two-way";
        if (ReplicationObjects.subscriptionExists(n, Names.FORWARD)
            && !"none".equals(Sql.string(n, "SELECT suborigin FROM pg_subscription WHERE subname = ?"
                + " AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())", Names.FORWARD))) {
          Sql.execute(n, "ALTER SUBSCRIPTION " + Sql.ident(Names.FORWARD) + " SET (origin = none)");
          steps.add("forward subscription on new set to origin = none (it skips changes old received from new)");
        }
      } else {
        mode = "after-fence";
        awaitFence(o, oldMajor, newMajor, options.waitForFence());
        steps.add("old is fenced: no write can commit there any more");
        prepared = ReplicationObjects.slotExists(n, names.reverseSlot());
        if (prepared) {
          steps.add("the switch created slot " + names.reverseSlot() + " on new after its barrier: forward had drained"
              + " at the fence, and the slot holds every write made on new since");
        }
        if (ReplicationObjects.subscriptionExists(n, Names.FORWARD) && !prepared) {
          String marker = Barrier.write(o);
          if (!Barrier.await(n, marker, options.drainTimeout())) {
            throw new ReplicatorException(Failure.TIMEOUT, "forward replication did not deliver a barrier marker to new within "
                + options.drainTimeout().toMillis() + " ms", "check `cutover-replicator status` and retry reverse");
          }
          steps.add("forward replication drained: a marker written on old after the fence reached new");
        }
        if (ReplicationObjects.subscriptionExists(n, Names.FORWARD)) {
          ReplicationObjects.dropSubscription(n, Names.FORWARD);
          ReplicationObjects.dropSlot(o, names.forwardSlot(), Duration.ofSeconds(10));
          steps.add("forward subscription and slot " + names.forwardSlot() + " dropped (PostgreSQL " + Math.min(oldMajor, newMajor)
              + " cannot filter by origin, so forward and reverse cannot run together)");
        }
      }
      Heartbeat.install(o);
      Heartbeat.install(n);
      if (ReplicationObjects.createPublication(n, Names.REVERSE)) {
        steps.add("publication " + Names.REVERSE + " created on new");
      }
      if (prepared) {
        ReplicationObjects.createSubscription(o, Names.REVERSE, nw.conninfo(), Names.REVERSE, names.reverseSlot(), false, false);
        steps.add("subscription " + Names.REVERSE + " created on old from slot " + names.reverseSlot()
            + ", without an initial copy: nothing written on new since the switch is missed");
        return new Report(mode, names.reverseSlot(), steps);
      }
      if (ReplicationObjects.slotExists(n, names.reverseSlot())) {
        ReplicationObjects.dropSlot(n, names.reverseSlot(), Duration.ofSeconds(10));
        steps.add("leftover slot " + names.reverseSlot() + " on new dropped");
      }
      ReplicationObjects.createSubscription(o, Names.REVERSE, nw.conninfo(), Names.REVERSE, names.reverseSlot(), true, twoWay);
      steps.add("subscription " + Names.REVERSE + " created on old from new's new slot " + names.reverseSlot()
          + ", without an initial copy" + (twoWay ? ", origin = none"
              : "; writes committed on new between the switch and now are not carried back (prepare with"
                  + " `cutover-replicator reverse --prepare` before the next switch)"));
      return new Report(mode, names.reverseSlot(), steps);
    }
  }

  private static void awaitFence(Connection o, int oldMajor, int newMajor, Duration wait) throws SQLException, ReplicatorException {
    long deadline = System.nanoTime() + wait.toNanos();
    while (!Fence.isRaised(o)) {
      if (System.nanoTime() - deadline >= 0) {
        throw new ReplicatorException(Failure.PRECONDITION, "old is not fenced, and PostgreSQL " + Math.min(oldMajor, newMajor)
            + " cannot filter replication by origin, so reverse replication may start only after forward has drained at the fence",
            "run reverse right after the switch has fenced old, or now with --wait-for-fence 10m to arm it the moment the fence rises"
                + " (with 16+ on both sides reverse can be armed at any time)");
      }
      LockSupport.parkNanos(Duration.ofMillis(20).toNanos());
    }
  }
}
