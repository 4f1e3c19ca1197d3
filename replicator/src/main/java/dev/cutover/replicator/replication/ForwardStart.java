package dev.cutover.replicator.replication;

import dev.cutover.driver.control.ControlSchema;
import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.Failure;
import dev.cutover.replicator.Names;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.UndoConnection;
import dev.cutover.replicator.apply.RelayProgress;
import dev.cutover.replicator.capture.EngineChoice;
import dev.cutover.replicator.capture.Capture;
import dev.cutover.replicator.check.ApplyWorkerSettings;
import dev.cutover.replicator.check.WorkerRoom;
import dev.cutover.replicator.check.PhysicalStandbys;
import dev.cutover.replicator.check.SlotWalLimit;
import dev.cutover.replicator.check.SynchronousStandbys;
import dev.cutover.replicator.check.RowSecurityCheck;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.copy.IndexSetAside;
import dev.cutover.replicator.copy.LeftAside;
import dev.cutover.replicator.copy.InitialCopy;
import dev.cutover.replicator.copy.InitialCopy.TablePair;
import dev.cutover.replicator.copy.LargeObjects;
import dev.cutover.replicator.copy.Loader;
import dev.cutover.replicator.copy.MaterializedViews;
import dev.cutover.replicator.copy.StartState;
import dev.cutover.replicator.ddl.DdlCapture;
import dev.cutover.replicator.privileges.Capabilities;
import dev.cutover.replicator.privileges.Gap;
import dev.cutover.replicator.privileges.Requirements;
import dev.cutover.replicator.sql.Catalog;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.replicator.sql.TableInfo;
import dev.cutover.replicator.sql.TableName;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;
import org.postgresql.replication.ReplicationSlotInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code start}: control schema on both sides, publication on old, a replication slot with an
 * exported snapshot, the parallel copy under that snapshot into bare tables, index builds, and a
 * subscription that streams from that very slot, or, with {@code --capture relay}, new's apply
 * position at the slot's start, from where {@code cutover-replicator apply} relays what the slot
 * decodes (new never connects to old). The copy ends where streaming begins, so nothing written
 * during the copy is lost or applied twice.
 *
 * <p>Order matters: the publication exists before the slot, so the slot decodes with it; the
 * indexes are built before the subscription starts, so applying an UPDATE finds its row by key
 * instead of scanning; the replication connection that exported the snapshot stays open and idle
 * until every worker has imported it. If anything fails after the slot exists, the slot and a
 * subscription are dropped, the copied tables on new (verified empty before) are truncated and
 * the indexes set aside are put back, so {@code start} can simply be run again; except when rows
 * reached new from elsewhere during the copy, which are never removed.
 */
public final class ForwardStart {
  private static final Logger LOG = LoggerFactory.getLogger(ForwardStart.class);

  private final Endpoint old;
  private final Endpoint nw;
  private final Names names;
  private final StartOptions options;
  private final CopyListener listener;
  private final List<String> appRoles;

  /** @param appRoles the roles granted the control plane on both sides (none: the control schema's defaults) */
  public ForwardStart(Endpoint old, Endpoint nw, Names names, StartOptions options, CopyListener listener,
      List<String> appRoles) {
    this.old = old;
    this.nw = nw;
    this.names = names;
    this.options = options;
    this.listener = listener;
    this.appRoles = List.copyOf(appRoles);
  }

  private boolean relay() {
    return options.capture() == Capture.RELAY;
  }

  public StartReport run(CopyProgress progress) throws ReplicatorException, Exception {
    long t0 = System.nanoTime();
    String slot = names.forwardSlot();
    try (Connection o = old.connect(); Connection n = nw.connect()) {
      int oldMajor = Sql.majorVersion(o);
      int newMajor = Sql.majorVersion(n);
      preconditions(o, n, oldMajor, newMajor, slot);
      List<String> warnings = new ArrayList<>();
      SlotWalLimit.warning(o, "old", slot, SlotWalLimit.forwardConsumer(relay(), names)).ifPresent(warnings::add);
      warnings.addAll(PhysicalStandbys.warnings(o, names, relay()));
      if (!relay()) {
        wayBackRefused(o, n).ifPresent(warnings::add);
      }
      // Set aside by an earlier start that did not finish, and gone from new's catalog: planned from it, it would stay gone.
      LeftAside.beforeStart(n).ifPresent(warnings::add);
      ReplicaIdentities.setFull(o, ReplicaIdentities.check(o, options.keyless()));

      ControlInstall.onBoth(o, n, appRoles);
      Heartbeat.install(o);
      Heartbeat.install(n);
      MigrationPair.record(o, n, names);
      for (String w : new String[] {DdlCapture.install(o, Side.OLD), DdlCapture.install(n, Side.NEW)}) {
        if (w != null) {
          warnings.add(w);
        }
      }
      // Schema changes before the copy's snapshot are in the copied schema already.
      DdlCapture.emptyLog(o);
      // Our own tables on new are filled by the copy like every other one.
      Sql.execute(n, "TRUNCATE cutover.barrier, cutover.replication_heartbeat, cutover.ddl_log");
      ReplicationObjects.createPublication(o, "old", names.forward());

      List<TablePair> tables = pairs(o, n, names);
      warnings.addAll(unloggedWarnings(o));
      boolean largeObjects = LargeObjects.count(o) > 0;
      IndexSetAside aside = options.deferIndexes() ? IndexSetAside.plan(o, n, tables.stream()
          .map(p -> new TableInfo[] {p.old(), p.nw()}).collect(Collectors.toList())) : IndexSetAside.none();

      boolean subscribed = false;
      boolean dropped = false;
      String consistentPoint;
      Loader.Timing timing;
      List<String> views;
      Connection replication = old.connectReplication();
      try {
        ReplicationSlotInfo info = SlotCreation.create(old, "old", replication, slot, false, options.slotWait(), "start");
        if (oldMajor >= PhysicalStandbys.FAILOVER_SLOTS_MIN) {
          // A standby of old that synchronizes slots keeps it through a failover (check's physical-standby).
          SlotCreation.failover(old, slot);
        }
        consistentPoint = info.getConsistentPoint().asString();
        LOG.info("slot {} on old: snapshot {} at {}", slot, info.getSnapshotName(), consistentPoint);
        try {
          DdlCapture.requireNoneBefore(old, info.getSnapshotName());
          // For start --resume after a crash: the slot, and what is set aside before it is gone from new's catalog.
          StartState.begin(n, slot, consistentPoint, relay());
          StartState.recordAside(n, aside);
          aside.drop(n);
          dropped = true;
          timing = new Loader(
              new InitialCopy(old, nw, info.getSnapshotName(),
                  new InitialCopy.Options(options.jobs(), options.splitBytes(), options.binary()), progress, listener, true),
              nw, aside, options.maintenanceWorkMem().replace(" ", ""), options.jobs(), progress, listener)
              // Once every worker has imported the snapshot, the exporting connection may go; the slot stays.
              .run(tables, oldMajor, largeObjects, () -> closeQuietly(replication));
          // New holds old's rows as of the snapshot: materialized views computed now match old's, refreshed there then.
          views = MaterializedViews.refreshAsOnOld(o, n);

          if (relay()) {
            listener.phase("relay position", progress);
            RelayProgress.arm(n, slot, names.forward(), info.getConsistentPoint());
          } else {
            listener.phase("subscription", progress);
            ReplicationObjects.createSubscription(n, Side.NEW, names.forward(), old.conninfo(), names.forward(), slot, false, false);
            subscribed = true;
          }
          StartState.finish(n);
        } catch (Exception e) {
          closeQuietly(replication);
          // A ReplicatorException here means rows written on new by someone else: those are theirs, keep every row.
          undo(o, n, slot, e instanceof ReplicatorException ? List.of() : tables, aside, dropped, subscribed, e);
          throw e;
        }
      } finally {
        closeQuietly(replication);
      }
      return report(slot, consistentPoint, progress, aside, timing, t0, views, warnings, null);
    }
  }

  /**
   * What keeps these roles from ever arming the way back over a subscription on old ({@code
   * reverse}): said at start, while another engine may still be chosen, not first at the flip back.
   */
  private Optional<String> wayBackRefused(Connection o, Connection n) throws SQLException {
    List<Gap> gaps = Requirements.wayBack(Capabilities.probe(n, Side.NEW), Capabilities.probe(o, Side.OLD),
        Requirements.loginHasPassword(nw));
    if (gaps.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of("no way back for these roles: `cutover-replicator reverse` will be refused after the switch, "
        + gaps.stream().map(Gap::describe).collect(Collectors.joining("; ")) + "; remedy: "
        + gaps.stream().map(Gap::remedy).distinct().collect(Collectors.joining("; ")));
  }

  /** What a start (or a resumed one) did, from its progress and timing. */
  static StartReport report(String slot, String consistentPoint, CopyProgress progress, IndexSetAside aside, Loader.Timing timing,
      long t0, List<String> views, List<String> warnings, StartReport.Resumed resumed) {
    List<StartReport.TableCopy> copies = new ArrayList<>();
    for (CopyProgress.TableProgress t : progress.tables()) {
      copies.add(new StartReport.TableCopy(t.table().toString(), t.rows(), t.bytes(), t.chunks(), t.binary(), t.frozen(), t.elapsed().toMillis()));
    }
    List<String> all = new ArrayList<>(warnings);
    if (timing.largeObjects() > 0) {
      all.add(timing.largeObjects() + " large object(s) were copied from the snapshot, but logical replication does not carry"
          + " large objects: run `cutover-replicator sync-large-objects` right before the switch, and `verify` compares them");
    }
    return new StartReport(slot, consistentPoint, copies, aside.dropped().size(), aside.rebuild().size(), timing.copyMillis(),
        timing.afterCopyMillis(), (System.nanoTime() - t0) / 1_000_000, timing.largeObjects(), timing.largeObjectBytes(), views,
        List.copyOf(all), resumed);
  }

  /** The warning for each unlogged table, which start copies but replication does not carry. */
  static List<String> unloggedWarnings(Connection o) throws SQLException {
    List<String> out = new ArrayList<>();
    for (TableName t : unlogged(o)) {
      out.add("unlogged table " + t + " was copied from the snapshot, but logical replication does not carry unlogged"
          + " tables: its changes on old after start are not on new (ALTER TABLE " + t.quoted() + " SET LOGGED on old and"
          + " start again to replicate it, or copy it yourself at the switch)");
    }
    return out;
  }

  private void preconditions(Connection o, Connection n, int oldMajor, int newMajor, String slot)
      throws SQLException, ReplicatorException {
    if (relay() && oldMajor < EngineChoice.RELAY_MIN) {
      throw new ReplicatorException(Failure.PRECONDITION, "old runs PostgreSQL " + oldMajor + ", older than " + EngineChoice.RELAY_MIN
          + ", the oldest source relayed replication supports (PostgreSQL 10 does not decode TRUNCATE)", "use --capture triggers");
    }
    if (!relay() && oldMajor < EngineChoice.LOGICAL_MIN) {
      throw new ReplicatorException(Failure.PRECONDITION, "old runs PostgreSQL " + oldMajor + ", older than 12",
          "the replicator supports PostgreSQL 12 to 18");
    }
    if (newMajor < EngineChoice.LOGICAL_MIN) {
      throw new ReplicatorException(Failure.PRECONDITION, "new runs PostgreSQL " + newMajor + ", older than 12",
          "the replicator supports PostgreSQL 12 to 18");
    }
    String walLevel = Sql.string(o, "SHOW wal_level");
    if (!"logical".equals(walLevel)) {
      throw new ReplicatorException(Failure.PRECONDITION, "old has wal_level = " + walLevel + ", logical replication needs logical",
          "ALTER SYSTEM SET wal_level = logical and restart old (RDS: rds.logical_replication = 1 in the parameter group)");
    }
    // Before the subscription probe, which would subscribe to the other migration's publication.
    String holder = SlotHeldByAnother.holder(o, slot, n, Duration.ZERO);
    if (holder != null) {
      throw new ReplicatorException(Failure.PRECONDITION, "old: " + SlotHeldByAnother.problem(o, slot, holder, n, "new")
          + " (start changed nothing)", SlotHeldByAnother.remedy("old", names.label(), holder));
    }
    SynchronousStandbys.require(o, "old", relay() ? Endpoint.APPLICATION_NAME : names.forward(), "start");
    if (relay()) {
      Requirements.require(Requirements.relayStart(Capabilities.probe(o, Side.OLD), Capabilities.probe(n, Side.NEW)), "start");
      // pgoutput converts to the stream's client_encoding (UTF8), except from SQL_ASCII, whose bytes have no encoding.
      if ("SQL_ASCII".equals(Sql.string(o, "SHOW server_encoding"))) {
        throw new ReplicatorException(Failure.PRECONDITION, "old's server_encoding is SQL_ASCII, whose bytes --capture relay cannot"
            + " read as text of any encoding", "use --capture logical or --capture triggers");
      }
    } else {
      Requirements.require(Requirements.start(Capabilities.probe(o, Side.OLD), Capabilities.probe(n, Side.NEW),
          Requirements.loginHasPassword(old)), "start");
      Requirements.requireLogin(n, Side.NEW, old.conninfo(), names.forward(), "start");
      ApplyWorkerSettings.require(n, "new", ApplyWorkerSettings.FORWARD, "start");
      WorkerRoom.require(n, "new", names.forward(), ApplyWorkerSettings.FORWARD, "start");
    }
    RowSecurityCheck.require(o, n, "start");
    if (RelayProgress.armed(n)) {
      throw new ReplicatorException(Failure.PRECONDITION, "new already relays old's slot from an earlier start (cutover.relay_progress)",
          "see `cutover-replicator status`, or run `cutover-replicator cleanup` to start over");
    }
    if (ReplicationObjects.subscriptionExists(n, names.forward())) {
      throw new ReplicatorException(Failure.PRECONDITION, "new already has subscription " + names.forward() + " from an earlier start",
          "see `cutover-replicator status`, or run `cutover-replicator cleanup` to start over");
    }
    // Slots are server-wide: one of another database with this name is another migration's (the same
    // --name, or database names that differ only in characters the label replaces), never this one's
    // earlier start, which cleanup here would not find (r26).
    String slotDatabase = ReplicationObjects.slotDatabase(o, slot);
    String database = Sql.string(o, "SELECT current_database()");
    if (slotDatabase != null && !slotDatabase.equals(database)) {
      throw new ReplicatorException(Failure.PRECONDITION, "old already has replication slot " + slot + ", which belongs to "
          + (slotDatabase.isEmpty() ? "no database (a physical slot)" : "database " + slotDatabase) + " on old's server, not to "
          + database + ": another migration with the label " + names.label() + " (a label keeps only a-z, 0-9 and _ of the"
          + " database's name) or another tool's slot",
          "choose another --name for this migration (`cutover-replicator check` reports it as slot-name-taken)");
    }
    if (slotDatabase != null) {
      throw new ReplicatorException(Failure.PRECONDITION, "old already has replication slot " + slot + " from an earlier start",
          StartState.exists(n) ? "run `cutover-replicator start --resume` to continue that start, or `cutover-replicator cleanup`"
              + " to start over" : "run `cutover-replicator cleanup` to remove it, then start again");
    }
    List<String> problems = new ArrayList<>();
    int configTables = 0;
    List<TableName> copied = new ArrayList<>(Catalog.applicationTables(o));
    copied.addAll(unlogged(o));
    for (TableName t : copied) {
      Optional<TableInfo> onNew = Catalog.describe(n, t);
      if (onNew.isEmpty()) {
        problems.add(t + " is missing on new");
        continue;
      }
      String incompatible = InitialCopy.incompatibility(new TablePair(Catalog.require(o, t, "old"), onNew.get()));
      if (incompatible != null) {
        problems.add(incompatible);
      } else if (Sql.bool(n, "SELECT EXISTS (SELECT 1 FROM ONLY " + t.quoted() + ")")) {
        String config = Catalog.configTableRows(n, t);
        problems.add(t + " on new already has rows" + (config == null ? "" : " (" + config + ")"));
        configTables += config == null ? 0 : 1;
      }
    }
    if (LargeObjects.count(o) > 0 && LargeObjects.count(n) > 0) {
      problems.add("new already has " + LargeObjects.count(n) + " large object(s)");
    }
    if (!problems.isEmpty()) {
      throw new ReplicatorException(Failure.PRECONDITION, "new is not ready for the copy: " + String.join(", ", problems),
          configTables == problems.size() ? "TRUNCATE on new the extensions' configuration tables named (start copies into empty"
              + " tables only; schema again would fill them again)" : "create the schema with `cutover-replicator schema` into an empty"
              + " database (start copies into empty tables only)" + (configTables == 0 ? "" : "; TRUNCATE on new the extensions'"
              + " configuration tables named, which CREATE EXTENSION fills"));
    }
  }

  /** The published tables and the unlogged ones (copied from the snapshot, never replicated). */
  static List<TablePair> pairs(Connection o, Connection n, Names names) throws SQLException {
    List<TablePair> out = new ArrayList<>();
    List<TableName> tables = new ArrayList<>(Catalog.publishedTables(o, names.forward()));
    tables.addAll(unlogged(o));
    for (TableName t : tables) {
      if (ControlSchema.localTable(t.schema(), t.name()) || MigrationPair.table(t.schema(), t.name())) {
        continue; // the control schema's switch records, fence, slot requests and pair record belong to the side they were made on
      }
      out.add(new TablePair(Catalog.require(o, t, "old"), Catalog.require(n, t, "new")));
    }
    return out;
  }

  private static List<TableName> unlogged(Connection o) throws SQLException {
    return Catalog.unloggedTables(o);
  }

  static void closeQuietly(Connection c) {
    try {
      c.close();
    } catch (SQLException ignored) {
      // Closing the replication connection only ends its exported snapshot.
    }
  }

  /** Puts new back as it was and removes the slot, so start can run again; over new connections where the failure lost one. */
  private void undo(Connection o, Connection n, String slot, List<TablePair> tables, IndexSetAside aside,
      boolean dropped, boolean subscribed, Exception cause) {
    try (UndoConnection oo = new UndoConnection(o, old); UndoConnection nn = new UndoConnection(n, nw)) {
      // A subscription left on new keeps its slot: without it, cleanup could not drop the subscription.
      if (!subscribed || UndoConnection.attempt(cause, () -> ReplicationObjects.dropSubscription(nn.get(), names.forward()))) {
        UndoConnection.attempt(cause, () -> ReplicationObjects.dropSlot(oo.get(), slot, Duration.ofSeconds(10)));
      }
      UndoConnection.attempt(cause, () -> {
        if (!tables.isEmpty()) {
          Sql.execute(nn.get(), "TRUNCATE " + tables.stream().map(t -> t.nw().name().quoted()).collect(Collectors.joining(", ")));
        }
        if (dropped) {
          aside.restore(nn.get());
          StartState.forgetAside(nn.get());
        }
      });
    } catch (SQLException e) {
      cause.addSuppressed(e);
    }
  }

}
