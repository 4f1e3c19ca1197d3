package dev.cutover.replicator.cleanup;

import dev.cutover.common.Transactions;
import dev.cutover.driver.control.ControlSchema;
import dev.cutover.driver.control.OperatorControl;
import dev.cutover.replicator.Failure;
import dev.cutover.replicator.Names;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.apply.ApplyFailures;
import dev.cutover.replicator.apply.ApplyProgress;
import dev.cutover.replicator.apply.Way;
import dev.cutover.replicator.capture.CaptureSchema;
import dev.cutover.replicator.capture.ChangeLog;
import dev.cutover.replicator.copy.LeftAside;
import dev.cutover.replicator.ddl.DdlCapture;
import dev.cutover.replicator.replication.MigrationPair;
import dev.cutover.replicator.replication.ReplicationObjects;
import dev.cutover.replicator.replication.SlotHeldByAnother;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * {@code cleanup}: removes from both databases what the replicator created for this migration, and
 * nothing else: the subscriptions, publications and slots named for its label (slots only of this
 * database), trigger capture (capture triggers, change log), then the control schema with its
 * fence triggers, heartbeat table and apply positions, unless another migration's objects still
 * use this database. Idempotent: a second run finds nothing and says so.
 *
 * <p>It refuses before removing anything where old and new as given are not the two sides of this
 * migration, as far as each records the other ({@link #refuseUnlessOnePair}): the checks below read
 * only where the URLs point. So it does where a process holds a slot of this migration's name that
 * no subscription of it on the other side streams from ({@link #refuseHeldByAnother}). It refuses
 * while driver instances heartbeat in the control schema (within {@link #SEEN_WITHIN}), unless told they are {@link LiveInstances#GONE}: the application
 * must be repointed at the database it serves from with a plain URL first. It also refuses while an
 * apply process may still run: one holds a side's apply lock, or noted a failed batch there within
 * {@link ApplyFailures#RECENT} (between tries, whose pause grows to 10 s, an apply holds no session
 * and so no lock; one killed between tries looks the same until its note is that old). It refuses too, unless told to {@link Unapplied#DISCARD}, where
 * a change log holds changes to the application's tables never applied to the other side while that
 * log's side is fenced: the application serves from the other side then, which would never get them.
 * It refuses as well, unless told to {@link Unapplied#GIVE_UP_WAY_BACK} (or to discard), where old is
 * fenced and new, which serves, holds changes the way back never applied to old: removing them
 * removes the way back, and a flip back would lose them, so that takes the operator saying the
 * cutover is final. Changes not applied while their side serves and the other is not fenced (a
 * migration given up before its switch) are normal: cleanup goes on and names them in {@link
 * Report#warnings}.
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
   * because another migration uses it or new's rows do not satisfy a foreign key yet; and what the
   * operator should know was given up: changes in a removed change log never applied to the other
   * side, and the way back.
   */
  public record Report(List<String> removedOnOld, List<String> removedOnNew, List<String> putBackOnNew, List<String> kept,
      List<String> warnings) {
    public boolean nothingFound() {
      return removedOnOld.isEmpty() && removedOnNew.isEmpty() && putBackOnNew.isEmpty();
    }
  }

  /**
   * What cleanup does about changes captured on a fenced side that never reached the side that
   * serves, and about changes of the serving new that never reached old over the way back armed
   * after the switch (old fenced, new serving).
   */
  public enum Unapplied {
    /** Refuse, naming how many and the remedy (the default). */
    REFUSE,
    /**
     * Remove the way back although new's change log holds changes old never got, saying so: the
     * cutover is final, and no flip back is wanted ({@code cleanup --give-up-way-back}). A fenced
     * side's changes still refuse.
     */
    GIVE_UP_WAY_BACK,
    /** Remove them with the change log, saying so, the way back's too ({@code cleanup --discard-unapplied}). */
    DISCARD
  }

  /** What cleanup does about driver instances that heartbeat in the control schema (see {@link #SEEN_WITHIN}). */
  public enum LiveInstances {
    /** Refuse, naming them and the remedy (the default). */
    REFUSE,
    /** The operator says they are gone: go ahead ({@code cleanup --instances-gone}). */
    GONE
  }

  /**
   * Whether a side that records nothing must be the database the other side's record names as this
   * migration's other side, and trigger capture of a migration into that database is kept.
   */
  public enum PairedDatabase {
    /** Refuse where it is another database, naming it and the remedy (the default). */
    REQUIRE,
    /** The operator says the database the record names is gone for good ({@code cleanup --paired-database-gone}). */
    GONE
  }

  /**
   * How recent a driver instance's heartbeat (every second, in the control schema of the side it
   * serves) keeps cleanup from removing that schema: more than the driver's own 5 s, so that an
   * instance whose heartbeat stalls for a moment (a pause, a slow network) still counts. A router that
   * closes leaves the schema at once; one killed stays listed this long after its last heartbeat.
   */
  public static final Duration SEEN_WITHIN = Duration.ofMinutes(1);
  private static final int NAMED = 10;

  private Cleanup() {}

  /**
   * Removes, over {@code o} and {@code n} (connections to old and new), what the replicator created
   * for the migration {@code names} labels.
   *
   * @param slotWait how long a slot's walsender may hold it before it is terminated
   * @param instances whether driver instances seen within {@link #SEEN_WITHIN} refuse it
   * @param paired whether a side that records nothing must be the database the other side's record
   *     names as its pair ({@link MigrationPair#requireRecordedPeer})
   * @param putBack runs {@link LeftAside#putBack} on {@code n}: its index builds take as long as their
   *     tables, so the caller may run it without the read limit its other statements have
   */
  public static Report run(Connection o, Connection n, Names names, Duration slotWait, Unapplied unapplied,
      LiveInstances instances, PairedDatabase paired, Transactions.Work<LeftAside.Result> putBack) throws Exception {
    List<String> onOld = new ArrayList<>();
    List<String> onNew = new ArrayList<>();
    List<String> kept = new ArrayList<>();
    List<String> warnings = new ArrayList<>();
    List<String> ours = List.of(names.forward(), names.reverse());
    refuseUnlessOnePair(o, n, names, ours, paired);
    if (instances == LiveInstances.REFUSE) {
      refuseWhileInstancesLive(o, n);
    }
    refuseWhileApplying(n, "new", Way.FORWARD, "old -> new");
    refuseWhileApplying(o, "old", Way.REVERSE, "new -> old");
    for (String name : ours) {
      refuseHeldByAnother(o, "old", name, n, "new", slotWait);
      refuseHeldByAnother(n, "new", name, o, "old", slotWait);
    }
    notApplied(o, "old", n, "new", Way.FORWARD, unapplied, warnings);
    notApplied(n, "new", o, "old", Way.REVERSE, unapplied, warnings);
    uncapture(o, "old", onOld);
    uncapture(n, "new", onNew);
    for (String name : ours) {
      if (ReplicationObjects.dropSubscription(n, name)) {
        onNew.add("subscription " + name);
      }
      if (ReplicationObjects.dropSubscription(o, name)) {
        onOld.add("subscription " + name);
        if (name.equals(names.reverse())) {
          warnings.add("the way back (new -> old, subscription " + name + ") is removed: old no longer follows new's writes, and"
              + " flipping back would lose them");
        }
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
    return new Report(onOld, onNew, back.restored(), kept, warnings);
  }

  /**
   * Refuses unless {@code o} and {@code n} are the two sides of this one migration, as far as what
   * each records of the other tells: a URL mistyped to another database (new's server, its
   * {@code postgres} database) found no instance there, and cleanup removed old's fence and the way
   * back while the application served from new. Two records point at the other side:
   *
   * <ul>
   *   <li>a side whose fence stands: the service serves from the other side, which must hold the
   *       control schema (where its instances heartbeat, and which {@link #refuseWhileInstancesLive}
   *       reads);
   *   <li>a subscription of this migration on one side streams from a slot that must be in the other
   *       side's database (slots are server-wide: one of the same name in another database of that
   *       server is another migration's, or the same one seen through the wrong database).
   * </ul>
   *
   * A migration given up before its switch (no fence), and new made again before it, record neither
   * and go ahead; so does a subscription whose slot was detached ({@code slot_name = NONE}). First of
   * all, the migration id start recorded on both sides must match ({@link MigrationPair}), and a side
   * that records nothing must be the database the other's record names, and trigger capture on a side
   * must be of a migration into the other side given, under any label, since capture is per database
   * (or the operator says the recorded database is gone for good): with trigger capture or the relay before any switch, nothing else tells
   * the pair.
   */
  private static void refuseUnlessOnePair(Connection o, Connection n, Names names, List<String> ours, PairedDatabase paired)
      throws SQLException, ReplicatorException {
    MigrationPair.requireOneMigration(o, n, names, "cleanup");
    List<String> found = new ArrayList<>();
    String oldDb = Sql.string(o, "SELECT current_database()");
    String newDb = Sql.string(n, "SELECT current_database()");
    servesElsewhere(o, "old", n, "new", newDb, found);
    servesElsewhere(n, "new", o, "old", oldDb, found);
    for (String name : ours) {
      slotElsewhere(o, "old", name, n, "new", newDb, found);
      slotElsewhere(n, "new", name, o, "old", oldDb, found);
    }
    if (found.isEmpty()) {
      if (paired == PairedDatabase.REQUIRE) {
        refuseRecordedElsewhere(o, n, names);
      }
      return;
    }
    throw new ReplicatorException(Failure.PRECONDITION, "old (database " + oldDb + ") and new (database " + newDb + ") as given"
        + " are not the two sides of this migration: " + String.join("; ", found) + "; the one given is not this migration's"
        + " new (or old), and cleanup would remove a fence and the way back while the application serves from the other side",
        "check --new-url and --old-url: point them at the databases this migration moved between (`cutover-replicator status`"
            + " with the same URLs names its directions), then cleanup again; nothing was removed");
  }

  /**
   * Refuses where a side records this migration into another database than the one given as the
   * other side, which records nothing ({@link MigrationPair#requireRecordedPeer}), or where a side's
   * trigger capture, which is per database whatever the label, is recorded only for migrations into
   * other databases: cleanup with these URLs removed another migration's capture (g78).
   */
  private static void refuseRecordedElsewhere(Connection o, Connection n, Names names) throws SQLException, ReplicatorException {
    MigrationPair.requireRecordedPeer(o, n, names, "cleanup");
    for (Object[] side : new Object[][] {{o, Side.OLD, n}, {n, Side.NEW, o}}) {
      Connection c = (Connection) side[0];
      Optional<String> another = CaptureSchema.installed(c) ? CaptureSchema.ofAnother(c, (Side) side[1], (Connection) side[2])
          : Optional.empty();
      if (another.isPresent()) {
        throw new ReplicatorException(Failure.PRECONDITION, another.get(), CaptureSchema.OF_ANOTHER_REMEDY
            + "; where that database is gone for good, `cutover-replicator cleanup --paired-database-gone`; cleanup changed nothing");
      }
    }
  }

  /** Where {@code side}'s fence stands, the service serves from the other side: {@code other} must hold the control schema. */
  private static void servesElsewhere(Connection c, String side, Connection other, String otherSide, String otherDb,
      List<String> found) throws SQLException {
    if (ControlSchema.installedVersion(c).isEmpty() || !OperatorControl.fenceRaised(c)) {
      return;
    }
    if (ControlSchema.installedVersion(other).isPresent()) {
      return;
    }
    List<String> switches = new ArrayList<>();
    for (String[] row : Sql.rows(c, "SELECT service, id, state, target FROM cutover.switch ORDER BY updated_at DESC LIMIT 3")) {
      switches.add("switch " + row[1] + " of service " + row[0] + " to " + row[3] + ", " + row[2]);
    }
    found.add(side + " is fenced" + (switches.isEmpty() ? "" : " (" + String.join(", ", switches) + ")") + ": the application"
        + " serves from " + otherSide + ", but the database given as " + otherSide + " (" + otherDb + ") has no Cutover control"
        + " schema (if " + otherSide + " was made again since, lower " + side + "'s fence first: SELECT cutover.lower_fence()"
        + " on " + side + ")");
  }

  /**
   * {@code side}'s subscription {@code name}, where it has one with a slot, streams from the other side: that slot must
   * be in {@code otherDb}, the database given as the other side. Where that server has no such slot at all while the
   * database holds this migration's control schema and publication {@code name}, the URLs are right and the slot is
   * what is gone ({@link #slotGone}).
   */
  private static void slotElsewhere(Connection c, String side, String name, Connection other, String otherSide, String otherDb,
      List<String> found) throws SQLException, ReplicatorException {
    String slot = ReplicationObjects.subscriptionSlot(c, name);
    if (slot == null) {
      return;
    }
    String database = Sql.string(other, "SELECT coalesce((SELECT database::text FROM pg_replication_slots WHERE slot_name = ?), '')",
        slot);
    if (otherDb.equals(database)) {
      return;
    }
    if (database.isEmpty() && ControlSchema.installedVersion(other).isPresent() && ReplicationObjects.publicationExists(other, name)) {
      throw slotGone(side, name, slot, otherSide, otherDb);
    }
    found.add(side + "'s subscription " + name + " streams from slot " + slot + ", which " + (database.isEmpty()
        ? "the server of the database given as " + otherSide + " (" + otherDb + ") does not have"
        : "is in database " + database + " of the server given as " + otherSide + ", not in " + otherDb)
        + " (if that slot is gone for good, detach it on " + side + ": ALTER SUBSCRIPTION " + name + " DISABLE; ALTER"
        + " SUBSCRIPTION " + name + " SET (slot_name = NONE))");
  }

  /**
   * The refusal for {@code side}'s subscription {@code name} whose slot {@code otherSide} (the right database) no
   * longer has: it failed over to a standby, which before PostgreSQL 17's failover slots has no logical slots, or was
   * restored. Dropping the subscription would ask {@code otherSide} to drop the slot and fail, so it is detached first.
   */
  private static ReplicatorException slotGone(String side, String name, String slot, String otherSide, String otherDb) {
    String q = Sql.ident(name);
    return new ReplicatorException(Failure.PRECONDITION, side + "'s subscription " + name + " streams from slot " + slot + ", which "
        + otherSide + " (database " + otherDb + ") no longer has, although it holds this migration's control schema and publication "
        + name + ": " + otherSide + " failed over to a standby (before PostgreSQL 17's failover slots a standby has no logical slots)"
        + " or was restored, or the slot was dropped; what was written on " + otherSide + " since never reached " + side
        + ", and the subscription cannot be dropped while it names a slot " + otherSide + " does not have",
        "detach it on " + side + ": ALTER SUBSCRIPTION " + q + " DISABLE; ALTER SUBSCRIPTION " + q + " SET (slot_name = NONE);"
            + " then cleanup again; nothing was removed");
  }

  /**
   * Refuses where a process holds {@code side}'s slot {@code name} ({@code pg_replication_slots.active_pid})
   * for {@code slotWait} while nothing of this migration in the database given as {@code otherSide} reads
   * it ({@link SlotHeldByAnother}): the reader is not its own (a running apply was refused before; one
   * that just stopped lets go within that time). A second migration with the
   * same label into another database was such a reader: cleanup waited, terminated its walsender and
   * dropped its live slot (review r33).
   */
  private static void refuseHeldByAnother(Connection c, String side, String name, Connection other, String otherSide,
      Duration slotWait) throws SQLException, ReplicatorException {
    String pid = SlotHeldByAnother.holder(c, name, other, slotWait);
    if (pid == null) {
      return;
    }
    String otherDb = Sql.string(other, "SELECT current_database()");
    throw new ReplicatorException(Failure.PRECONDITION, side + "'s replication slot " + name + " is in use by process " + pid
        + " (pg_replication_slots.active_pid), but " + otherSide + " (database " + otherDb + ") has no subscription " + name
        + " streaming from it: nothing this migration records shows that reader as its own (another migration given the same"
        + " --name into another database, or a reader such as pg_recvlogical), and dropping the slot would break it",
        "see who reads it on " + side + ": SELECT * FROM pg_stat_activity WHERE pid = " + pid + "; another migration's: leave it,"
            + " and check --old-url, --new-url and --name, which must be this migration's; a reader of this migration no longer"
            + " wanted: stop it, then cleanup again; nothing was removed");
  }

  /**
   * Refuses while driver instances heartbeat in the control schema of either side (within {@link
   * #SEEN_WITHIN}): the application still connects through {@code jdbc:cutover:} URLs. Once the schema
   * is gone nothing records where the service serves nor fences old, and an instance started later
   * with the same configuration cannot tell that the service left old (the driver refuses to start
   * where its flag says new; before, it served old: two instances writing two databases).
   */
  private static void refuseWhileInstancesLive(Connection o, Connection n) throws SQLException, ReplicatorException {
    List<String> seen = new ArrayList<>();
    long total = 0;
    for (Connection c : new Connection[] {o, n}) {
      String side = c == o ? "old" : "new";
      long onThisSide = 0;
      if (!Sql.bool(c, "SELECT to_regclass('cutover.instance') IS NOT NULL")) {
        continue;
      }
      for (String[] row : Sql.rows(c, "SELECT service, instance, (extract(epoch FROM clock_timestamp() - heartbeat_at))::bigint,"
          + " count(*) OVER () FROM cutover.instance WHERE heartbeat_at > clock_timestamp() - ?::interval"
          + " ORDER BY heartbeat_at DESC, service, instance LIMIT " + NAMED, SEEN_WITHIN.toSeconds() + " seconds")) {
        if (seen.size() < NAMED) {
          seen.add("instance " + row[1] + " of service " + row[0] + " on " + side + " (" + Math.max(0, Long.parseLong(row[2]))
              + " s ago)");
        }
        onThisSide = Long.parseLong(row[3]);
      }
      total += onThisSide;
    }
    if (total == 0) {
      return;
    }
    throw new ReplicatorException(Failure.PRECONDITION, total + " Cutover driver instance(s) heartbeat in the control schema within"
        + " the last " + SEEN_WITHIN.toSeconds() + " s: " + String.join(", ", seen) + (total > seen.size() ? ", ..." : "")
        + "; the application still connects through jdbc:cutover: URLs, and without the control schema nothing fences old"
        + " nor records that the service left it",
        "point the application with a plain jdbc:postgresql: URL at the database it serves from (new, once the cutover is"
            + " final) and redeploy it, so that every instance's router closes (it leaves the control schema as it does),"
            + " then cleanup again; an instance killed rather than stopped stays listed " + SEEN_WITHIN.toSeconds() + " s"
            + " after its last heartbeat; `cleanup --instances-gone` goes ahead anyway; nothing was removed");
  }

  /**
   * Refuses while an apply process may still write {@code way} ({@code label}) into {@code target}
   * ({@code side}): cleanup would pull its change log and tables from under it. It holds the way's
   * lock while it tries a batch; between tries of a failing one it holds nothing, but its note of the
   * failure is at most the retry pause (10 s) plus a try old, well within {@link ApplyFailures#RECENT}.
   */
  private static void refuseWhileApplying(Connection target, String side, String way, String label)
      throws SQLException, ReplicatorException {
    if (Way.applying(target, way)) {
      throw new ReplicatorException(Failure.PRECONDITION, side + ": `cutover-replicator apply` still applies " + way + " (" + label + ") here",
          "stop it first (once the cutover is final, nothing needs applying); nothing was removed");
    }
    Optional<ApplyFailures.Failed> failing = ApplyFailures.read(target, way).filter(f -> f.recent() && !f.stopped());
    if (failing.isPresent()) {
      throw new ReplicatorException(Failure.PRECONDITION, side + ": `cutover-replicator apply` of " + label + " failed a batch at "
          + failing.get().last() + " and retries it (between tries it holds no lock): " + failing.get().message(),
          "fix the cause (see `cutover-replicator status`) and let apply catch up, or stop it; an apply stopped or killed between"
              + " tries is told from a running one only by time: run cleanup again once its last try is " + ApplyFailures.RECENT.toSeconds()
              + " s old; nothing was removed");
    }
  }

  /**
   * Counts the changes to the application's tables that {@code source}'s change log holds and
   * {@code target} never applied ({@code way}). Where {@code source} is fenced, the application
   * serves from {@code target}, which would never get them: refused unless {@link Unapplied#DISCARD}.
   * Where {@code target} is fenced instead and this is the way back, the service left old for new,
   * and they are what a flip back needs: refused unless {@link Unapplied#GIVE_UP_WAY_BACK} or {@link
   * Unapplied#DISCARD}. Otherwise {@code source} still serves and holds them: a warning. Arming the
   * way back and removing it is always named.
   */
  private static void notApplied(Connection source, String sourceSide, Connection target, String targetSide, String way,
      Unapplied unapplied, List<String> warnings) throws SQLException, ReplicatorException {
    Optional<ApplyProgress.Position> at = ApplyProgress.read(target, way);
    if (at.isEmpty() || !CaptureSchema.installed(source)) {
      return;
    }
    long pending = ChangeLog.pendingApplicationRows(source, at.get().snapshot());
    boolean fenced = ControlSchema.installedVersion(source).isPresent() && OperatorControl.fenceRaised(source);
    String label = sourceSide + " -> " + targetSide;
    if (pending > 0 && fenced && unapplied == Unapplied.REFUSE) {
      throw new ReplicatorException(Failure.PRECONDITION, sourceSide + " is fenced (the application writes on " + targetSide
          + "), but its change log holds " + pending + " change(s) to its tables never applied to " + targetSide + " (" + label
          + "): cleanup would remove them with the log, and " + targetSide + " would never get them",
          "run `cutover-replicator apply` until `cutover-replicator status` shows 0 row(s) not applied yet, then cleanup again;"
              + " `cleanup --discard-unapplied` removes them anyway (they stay on " + sourceSide + " only); nothing was removed");
    }
    boolean left = Way.REVERSE.equals(way) && !fenced && ControlSchema.installedVersion(target).isPresent()
        && OperatorControl.fenceRaised(target);
    if (pending > 0 && left && unapplied == Unapplied.REFUSE) {
      throw new ReplicatorException(Failure.PRECONDITION, targetSide + " is fenced (the application writes on " + sourceSide
          + "), and " + sourceSide + "'s change log holds " + pending + " change(s) to its tables never applied to " + targetSide
          + " (" + label + ", the way back): cleanup would remove the way back with them, and a flip back to " + targetSide
          + " would lose them",
          "to keep the way back, run `cutover-replicator apply` until `cutover-replicator status` shows 0 row(s) not applied yet"
              + " (where it fails, `status` names the change and what to do; cleanup and start again are no remedy there);"
              + " once the cutover is final and no flip back is wanted, `cleanup --give-up-way-back` removes the way back"
              + " anyway (" + sourceSide + " keeps every row); nothing was removed");
    }
    if (pending > 0) {
      warnings.add(sourceSide + "'s change log held " + pending + " change(s) never applied to " + targetSide + " (" + label + "), removed"
          + " with it: " + (fenced ? sourceSide + " is fenced, and they stay on it only (--discard-unapplied)"
              : left ? targetSide + " is fenced and behind " + sourceSide + ", which keeps them, and the way back is given up ("
                  + (unapplied == Unapplied.DISCARD ? "--discard-unapplied" : "--give-up-way-back") + ")"
              : targetSide + " is behind " + sourceSide + ", which still takes the application's writes"));
    }
    if (Way.REVERSE.equals(way)) {
      warnings.add("the way back (" + label + ") is removed: " + targetSide + " no longer follows " + sourceSide
          + "'s writes, and flipping back would lose them");
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
