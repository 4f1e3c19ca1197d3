package dev.cutover.replicator.replication;

import static dev.cutover.common.Transactions.inTransaction;

import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.Failure;
import dev.cutover.replicator.Names;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.apply.RelayProgress;
import dev.cutover.replicator.capture.Capture;
import dev.cutover.replicator.capture.CaptureSchema;
import dev.cutover.replicator.check.ApplyWorkerSettings;
import dev.cutover.replicator.check.WorkerRoom;
import dev.cutover.replicator.check.RowSecurityCheck;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.copy.InitialCopy;
import dev.cutover.replicator.copy.InitialCopy.TablePair;
import dev.cutover.replicator.copy.LargeObjects;
import dev.cutover.replicator.copy.Loader;
import dev.cutover.replicator.copy.MaterializedViews;
import dev.cutover.replicator.copy.StartState;
import dev.cutover.replicator.ddl.DdlCapture;
import dev.cutover.replicator.privileges.Capabilities;
import dev.cutover.replicator.privileges.Requirements;
import dev.cutover.replicator.sql.Catalog;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.replicator.sql.TableName;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.postgresql.replication.LogSequenceNumber;
import org.postgresql.replication.ReplicationSlotInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code start --resume}: continues a start whose process died during the copy, from what it
 * recorded on new ({@link StartState}), without a drift window.
 *
 * <p>The interrupted start's snapshot died with its process (an exported snapshot lives as long as
 * the session that exported it), but its slot did not: the slot still streams from the point
 * where that snapshot ended. So the tables it copied completely are kept as they are, and the
 * rest are emptied and copied again under a new snapshot, exported by a temporary slot created
 * now at a later point. The subscription then streams from the original slot; for the tables
 * copied again, their rows in {@code pg_subscription_rel} say "synchronized up to the new point"
 * (state {@code s}, the state a table-sync worker leaves behind), so the apply worker skips their
 * changes that the new snapshot already holds and applies every later one, then marks them
 * ready itself. A relayed start ({@code --capture relay}) keeps the same points on new instead, in
 * {@code cutover.relay_copied_again} beside its position, and the apply process skips alike.
 * Chunks of a partly copied table are not kept: they belong to the dead snapshot,
 * and mixed with chunks of another a row moved between them (an UPDATE changes its place) would
 * be doubled or lost.
 *
 * <p>Refused when the original slot is gone (nothing can stream from the old point), when new's
 * record of the start is gone (new's server restarted: the record is unlogged), or when old's
 * schema changed since (its changes would reach the re-copied tables twice).
 */
public final class ResumedStart {
  private static final Logger LOG = LoggerFactory.getLogger(ResumedStart.class);

  private final Endpoint old;
  private final Endpoint nw;
  private final Names names;
  private final StartOptions options;
  private final CopyListener listener;

  public ResumedStart(Endpoint old, Endpoint nw, Names names, StartOptions options, CopyListener listener) {
    this.old = old;
    this.nw = nw;
    this.names = names;
    this.options = options;
    this.listener = listener;
  }

  public StartReport run(CopyProgress progress) throws Exception {
    long t0 = System.nanoTime();
    String slot = names.forwardSlot();
    try (Connection o = old.connect(); Connection n = nw.connect()) {
      StartState.Recorded recorded = preconditions(o, n, slot);
      List<TablePair> all = ForwardStart.pairs(o, n, names);
      Set<TableName> kept = recorded.copied().stream().map(StartState.CopiedTable::table).collect(Collectors.toSet());
      List<TablePair> done = all.stream().filter(p -> kept.contains(p.nw().name())).collect(Collectors.toList());
      List<TablePair> again = all.stream().filter(p -> !kept.contains(p.nw().name())).collect(Collectors.toList());
      empty(n, again);
      boolean largeObjects = !recorded.largeObjectsCopied() && LargeObjects.count(o) > 0;
      if (largeObjects) {
        Sql.execute(n, "SELECT lo_unlink(oid) FROM pg_largeobject_metadata");
      }
      LOG.info("resuming start from slot {}: keeping {} table(s), copying {} again", slot, done.size(), again.size());

      Loader.Timing timing;
      String point;
      Connection replication = old.connectReplication();
      try {
        ReplicationSlotInfo info = SlotCreation.create(old, "old", replication, slot + "_resume", true, options.slotWait(), "start --resume");
        point = info.getConsistentPoint().asString();
        DdlCapture.requireNoneBefore(old, info.getSnapshotName());
        timing = new Loader(new InitialCopy(old, nw, info.getSnapshotName(),
            new InitialCopy.Options(options.jobs(), options.splitBytes(), options.binary()), progress, listener, true),
            nw, recorded.aside(), options.maintenanceWorkMem().replace(" ", ""), options.jobs(), progress, listener)
            .run(again, done, Sql.majorVersion(o), largeObjects, () -> ForwardStart.closeQuietly(replication));
      } finally {
        // The temporary slot goes with its session: it only exported the snapshot.
        ForwardStart.closeQuietly(replication);
      }
      List<String> views = MaterializedViews.refreshAsOnOld(o, n);

      boolean relayed = StartState.relayed(n);
      if (relayed) {
        listener.phase("relay position", progress);
        armRelay(n, slot, recorded, again, point);
      } else {
        listener.phase("subscription", progress);
        ReplicationObjects.createSubscription(n, Side.NEW, names.forward(), old.conninfo(), names.forward(), slot, false, false, false);
        synchronizedAt(n, again, point);
        Sql.execute(n, "ALTER SUBSCRIPTION " + Sql.ident(names.forward()) + " ENABLE");
        StartState.finish(n);
      }

      StartReport.Resumed resumed = new StartReport.Resumed(
          recorded.copied().stream().map(c -> c.table().toString()).collect(Collectors.toList()),
          recorded.copied().stream().mapToLong(StartState.CopiedTable::rows).sum(),
          recorded.copied().stream().mapToLong(StartState.CopiedTable::bytes).sum(),
          recorded.copied().stream().mapToLong(StartState.CopiedTable::millis).sum(),
          again.stream().map(p -> p.nw().name().toString()).collect(Collectors.toList()));
      List<String> warnings = ForwardStart.unloggedWarnings(o);
      StartReport report = ForwardStart.report(slot, recorded.consistentPoint(), progress, recorded.aside(), timing, t0, views, warnings,
          resumed);
      return relayed ? report.relayed("logical decoding relayed, as the interrupted start was (read by `cutover-replicator apply`)")
          : report;
    }
  }

  private StartState.Recorded preconditions(Connection o, Connection n, String slot) throws SQLException, ReplicatorException {
    // A start that finished has nothing to resume, whoever asks: the privilege checks below would advise starting over.
    if (ReplicationObjects.subscriptionExists(n, names.forward())) {
      throw new ReplicatorException(Failure.PRECONDITION, "start has finished already: new has subscription " + names.forward(),
          "see `cutover-replicator status`");
    }
    if (RelayProgress.armed(n)) {
      throw new ReplicatorException(Failure.PRECONDITION, "start has finished already: new relays old's slot (cutover.relay_progress)",
          "see `cutover-replicator status`, and run `cutover-replicator apply`");
    }
    // Trigger capture's start keeps no slot and no record to continue from: its copy starts over. Asked for by
    // --capture triggers with no capture left on old, the slot checks below would name a slot it never had.
    if (CaptureSchema.installed(o)) {
      throw new ReplicatorException(Failure.PRECONDITION, "start --resume continues a start of logical replication or of"
          + " the relay; old has trigger capture (cutover.capture_state), whose start cannot be resumed: its copy starts over",
          "run `cutover-replicator cleanup`, then `cutover-replicator start --capture triggers` again (it copies every table again)");
    }
    if (options.capture() == Capture.TRIGGERS) {
      throw new ReplicatorException(Failure.PRECONDITION, "start --resume continues a start of logical replication or of"
          + " the relay; a start with --capture triggers cannot be resumed: its copy starts over",
          "run `cutover-replicator start --capture triggers` without --resume (after `cutover-replicator cleanup` and emptying"
              + " new's tables, if the interrupted start left rows there)");
    }
    // Policies may have been enabled since the interruption: the tables copied again would get only the rows they show.
    RowSecurityCheck.require(o, n, "start --resume");
    if (StartState.exists(n) && StartState.relayed(n)) {
      Requirements.require(Requirements.relayStart(Capabilities.probe(o, Side.OLD), Capabilities.probe(n, Side.NEW)), "start --resume");
    } else {
      Requirements.require(Requirements.start(Capabilities.probe(o, Side.OLD), Capabilities.probe(n, Side.NEW),
          Requirements.loginHasPassword(old)), "start --resume");
      if (!Catalog.superuser(n)) {
        throw new ReplicatorException(Failure.PRIVILEGE, "new: start --resume marks the tables it copies again in pg_subscription_rel,"
            + " which only a superuser may write, and " + Catalog.currentUser(n) + " is not one",
            "resume as a superuser of new, or run `cutover-replicator cleanup`, empty new's tables and start again");
      }
      ApplyWorkerSettings.require(n, "new", ApplyWorkerSettings.FORWARD, "start --resume");
      WorkerRoom.require(n, "new", names.forward(), ApplyWorkerSettings.FORWARD, "start --resume");
    }
    String cleanupAndStart = "run `cutover-replicator cleanup`, then start again";
    if (!ReplicationObjects.ownSlotExists(o, slot)) {
      throw new ReplicatorException(Failure.PRECONDITION, "there is no start to resume: old has no replication slot " + slot,
          "run `cutover-replicator start` (after `cutover-replicator cleanup` and emptying new's tables, if an earlier one left rows there)");
    }
    if (!StartState.exists(n)) {
      throw new ReplicatorException(Failure.PRECONDITION, "new has no record of the interrupted start (its server restarted since,"
          + " which empties the unlogged record)", cleanupAndStart);
    }
    Optional<String> recorder = StartState.recordedByAnother(n);
    if (recorder.isPresent()) {
      // Resuming runs the record's statements, as the superuser it must be: never a record a role with less wrote.
      throw new ReplicatorException(Failure.PRIVILEGE, "new: the interrupted start's record was written by role " + recorder.get()
          + ", not by " + Catalog.currentUser(n) + ", which would run its statements", cleanupAndStart
          + " (cleanup puts back what that start set aside, as " + recorder.get() + ")");
    }
    StartState.Recorded recorded = StartState.read(n);
    if (!slot.equals(recorded.slot())) {
      throw new ReplicatorException(Failure.PRECONDITION, "new's record is of a start from slot " + recorded.slot() + ", not " + slot,
          "resume with the --name of that start, or " + cleanupAndStart);
    }
    if (DdlCapture.logExists(o) && Sql.number(o, "SELECT count(*) FROM cutover.ddl_log") > 0) {
      throw new ReplicatorException(Failure.PRECONDITION, "old's schema changed since start was interrupted, which the tables"
          + " copied again would receive twice", cleanupAndStart);
    }
    return recorded;
  }

  /**
   * Empties the tables copied again: they may hold chunks of the interrupted copy. With triggers
   * off, as the copy runs, a DELETE does not cascade to tables that reference them, which are
   * kept; a table no foreign key references is truncated.
   */
  private static void empty(Connection n, List<TablePair> tables) throws SQLException {
    Sql.execute(n, "SET session_replication_role = replica");
    try {
      for (TablePair p : tables) {
        TableName t = p.nw().name();
        boolean referenced = Sql.bool(n, "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE contype = 'f' AND confrelid = ?::regclass"
            + " AND conrelid <> confrelid)", t.regclass());
        Sql.execute(n, (referenced ? "DELETE FROM ONLY " : "TRUNCATE ONLY ") + t.quoted());
      }
    } finally {
      Sql.execute(n, "RESET session_replication_role");
    }
  }

  /**
   * Arms relaying from the interrupted start's point, with the tables copied again skipping what
   * their copy at {@code point} holds, and forgets the start: all in one transaction, so that a
   * crash leaves either a start to resume or a relay to apply, never a relay whose copied-again
   * tables would take their changes twice.
   */
  private void armRelay(Connection n, String slot, StartState.Recorded recorded, List<TablePair> again, String point)
      throws SQLException {
    inTransaction(n, () -> {
      RelayProgress.arm(n, slot, names.forward(), LogSequenceNumber.valueOf(recorded.consistentPoint()));
      RelayProgress.copiedAgain(n, again.stream().map(p -> p.old().name()).collect(Collectors.toList()),
          LogSequenceNumber.valueOf(point));
      StartState.finish(n);
      return null;
    });
  }

  /**
   * Marks the tables copied again as synchronized up to {@code point}, the new snapshot's end, in
   * the subscription created disabled: the apply worker skips their changes committed before it.
   */
  private void synchronizedAt(Connection n, List<TablePair> tables, String point) throws SQLException {
    // As a superuser (required here), pg_subscription.oid is readable on every version.
    long sub = Sql.number(n, "SELECT oid::bigint FROM pg_subscription WHERE subname = ?"
        + " AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())", names.forward());
    List<TableName> unlogged = Catalog.unloggedTables(n);
    try (PreparedStatement ps = n.prepareStatement("UPDATE pg_subscription_rel SET srsubstate = 's', srsublsn = ?::pg_lsn"
        + " WHERE srsubid = ?::oid AND srrelid = ?::regclass")) {
      for (TablePair p : tables) {
        if (!unlogged.contains(p.nw().name())) {
          ps.setString(1, point);
          ps.setLong(2, sub);
          ps.setString(3, p.nw().name().regclass());
          ps.addBatch();
        }
      }
      ps.executeBatch();
    }
  }
}
