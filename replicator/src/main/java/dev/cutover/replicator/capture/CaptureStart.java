package dev.cutover.replicator.capture;

import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.Failure;
import dev.cutover.replicator.Names;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.UndoConnection;
import dev.cutover.replicator.apply.ApplyProgress;
import dev.cutover.replicator.apply.Way;
import dev.cutover.replicator.check.RowSecurityCheck;
import dev.cutover.replicator.copy.CopyListener;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.copy.ForeignKeySetAside;
import dev.cutover.replicator.copy.IndexSetAside;
import dev.cutover.replicator.copy.LeftAside;
import dev.cutover.replicator.copy.StartState;
import dev.cutover.replicator.copy.LargeObjects;
import dev.cutover.replicator.copy.MaterializedViews;
import dev.cutover.replicator.copy.InitialCopy;
import dev.cutover.replicator.copy.InitialCopy.TablePair;
import dev.cutover.replicator.copy.Loader;
import dev.cutover.replicator.copy.TriggersOff;
import dev.cutover.replicator.ddl.DdlCapture;
import dev.cutover.replicator.replication.ControlInstall;
import dev.cutover.replicator.replication.Heartbeat;
import dev.cutover.replicator.replication.MigrationPair;
import dev.cutover.replicator.replication.ReplicationObjects;
import dev.cutover.replicator.replication.StartOptions;
import dev.cutover.replicator.replication.StartReport;
import dev.cutover.replicator.sql.Catalog;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.replicator.sql.TableInfo;
import dev.cutover.replicator.sql.TableName;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code start --capture triggers}: the control schema on both sides, capture triggers on every
 * table of old, one exported snapshot shared by the parallel copy (the same copy, index builds
 * and ANALYZE as with logical replication), and the position on new where applying starts: that
 * very snapshot.
 *
 * <p>Order is what makes it exact. The triggers exist first (added table by table, see
 * {@link CaptureSchema#addTriggersEach}: each waits for every transaction that wrote its table
 * before). The snapshot is exported after that, with {@code pg_export_snapshot()}, which needs no
 * REPLICATION, and every copy worker imports it. Its {@code txid_current_snapshot()} is recorded
 * as the forward position: a transaction visible in it is in the copy and its logged changes (if
 * it wrote after some triggers) are never applied; a transaction not visible in it is not in the
 * copy and all its changes are in the log, since it was still running, or not begun, when the
 * last triggers were there, and so wrote nothing before them. The first batch the applier takes is therefore exactly
 * what the copy did not see: no drift window, nothing twice. A {@link Ticker} runs meanwhile, so
 * that what is written during a long copy is applied in batches of bounded size.
 *
 * <p>Where new's role may not set {@code session_replication_role}, the copy turns new's triggers
 * off inside each chunk's transaction and sets foreign keys aside until every table is in
 * ({@link TriggersOff}, {@link ForeignKeySetAside}). If anything fails, the capture is removed,
 * the tables copied into (verified empty before) are emptied again and what was set aside is put
 * back, so start can simply run again. What is set aside is recorded on new first
 * ({@link StartState}), so that a start that dies, or cannot reach new to undo, leaves it for
 * {@code cleanup} or the next start to put back ({@link LeftAside}).
 */
public final class CaptureStart {
  private static final Logger LOG = LoggerFactory.getLogger(CaptureStart.class);

  private final Endpoint old;
  private final Endpoint nw;
  private final Names names;
  private final StartOptions options;
  private final CopyListener listener;
  private final EngineChoice choice;
  private final List<String> appRoles;

  /** @param appRoles the roles granted the control plane on both sides (none: the control schema's defaults) */
  public CaptureStart(Endpoint old, Endpoint nw, Names names, StartOptions options, CopyListener listener, EngineChoice choice,
      List<String> appRoles) {
    this.old = old;
    this.nw = nw;
    this.names = names;
    this.options = options;
    this.listener = listener;
    this.choice = choice;
    this.appRoles = List.copyOf(appRoles);
  }

  /** The tables trigger capture carries: the application's, and the control tables that must travel (barrier, heartbeat, DDL log). */
  public static List<TableName> capturable(Connection c) throws SQLException {
    List<TableName> tables = new ArrayList<>(Catalog.applicationTables(c));
    for (String control : List.of("barrier", "replication_heartbeat", "ddl_log")) {
      if (Sql.relationExists(c, "cutover." + control)) {
        tables.add(new TableName("cutover", control));
      }
    }
    return tables;
  }

  public StartReport run(CopyProgress progress) throws Exception {
    long t0 = System.nanoTime();
    try (Connection o = old.connect(); Connection n = nw.connect()) {
      int oldMajor = Sql.majorVersionOf(o);
      preconditions(o, n, oldMajor);
      List<String> warnings = new ArrayList<>();
      // Set aside by an earlier start that did not finish, and gone from new's catalog: planned from it, it would stay gone.
      LeftAside.beforeStart(n).ifPresent(warnings::add);
      ControlInstall.onBoth(o, n, appRoles);
      Heartbeat.install(o);
      Heartbeat.install(n);
      MigrationPair.record(o, n, names);
      // Schema changes travel as rows of cutover.ddl_log, captured like any table. Its replay and
      // capture use catalogs of PostgreSQL 10+ (publications), so not with an older source.
      if (oldMajor >= 10) {
        for (String w : new String[] {DdlCapture.install(o, Side.OLD), DdlCapture.install(n, Side.NEW)}) {
          if (w != null) {
            warnings.add(w);
          }
        }
        // Schema changes before the copy's snapshot are in the copied schema already.
        DdlCapture.emptyLog(o);
      } else {
        warnings.add("schema changes on old are not captured (PostgreSQL " + oldMajor + "): make each on new too, before the"
            + " application's rows in the new shape reach it, or apply stops until it is");
      }
      // Our own tables on new are filled by the copy like every other one.
      Sql.execute(n, "TRUNCATE cutover.barrier, cutover.replication_heartbeat");
      if (DdlCapture.logExists(n)) {
        Sql.execute(n, "TRUNCATE cutover.ddl_log");
      }
      TriggersOff triggersOff = TriggersOff.detect(n);
      ApplyProgress.install(n);

      List<TableName> captured = capturable(o);
      CaptureSchema.install(o);
      try {
        CaptureSchema.addTriggersEach(o, "old", captured);
      } catch (Exception e) {
        undo(o, n, List.of(), IndexSetAside.none(), false, ForeignKeySetAside.none(), false, e);
        throw e;
      }
      List<TablePair> tables = new ArrayList<>();
      for (TableName t : captured) {
        tables.add(new TablePair(Catalog.require(o, t, "old"), Catalog.require(n, t, "new")));
      }
      ForeignKeySetAside keys = triggersOff == TriggersOff.IN_TRANSACTION
          ? ForeignKeySetAside.plan(n, Catalog.applicationTables(o)) : ForeignKeySetAside.none();
      IndexSetAside aside = IndexSetAside.none();
      boolean keysDropped = false;
      boolean indexesDropped = false;
      ChangeLog.Tick start;
      Loader.Timing timing;
      List<String> views;
      boolean largeObjects = LargeObjects.count(o) > 0;
      Connection exporter = old.connect();
      // Ticks during the copy cut what it does not see into batches of their own (see Ticker).
      try (Ticker ticker = Ticker.start(old, java.time.Duration.ofMillis(100))) {
        // Recorded before each drop: a start that dies leaves them for cleanup or the next start to put back.
        StartState.begin(n);
        StartState.recordKeys(n, keys);
        keys.drop(n);
        keysDropped = true;
        if (options.deferIndexes()) {
          aside = IndexSetAside.plan(o, n, tables.stream().map(p -> new TableInfo[] {p.old(), p.nw()}).collect(Collectors.toList()));
        }
        String snapshot;
        exporter.setAutoCommit(false);
        try (Statement s = exporter.createStatement()) {
          s.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
          try (ResultSet rs = s.executeQuery("SELECT pg_export_snapshot(), txid_current_snapshot()::text, clock_timestamp()")) {
            rs.next();
            snapshot = rs.getString(1);
            start = new ChangeLog.Tick(TxidSnapshot.parse(rs.getString(2)), rs.getTimestamp(3).toInstant());
          }
        }
        LOG.info("capture triggers on {} table(s) of old; copy snapshot {} at {}", captured.size(), snapshot, start.snapshot());
        if (oldMajor >= 10) {
          DdlCapture.requireNoneBefore(old, snapshot);
        }
        StartState.recordAside(n, aside);
        aside.drop(n);
        indexesDropped = true;
        timing = new Loader(
            new InitialCopy(old, nw, snapshot, new InitialCopy.Options(options.jobs(), options.splitBytes(), options.binary(), triggersOff),
                progress, listener, false),
            nw, aside, options.maintenanceWorkMem().replace(" ", ""), options.jobs(), progress, listener)
            .run(tables, oldMajor, largeObjects, () -> closeQuietly(exporter));
        // New holds old's rows as of the snapshot: materialized views computed now match old's.
        views = MaterializedViews.refreshAsOnOld(o, n);
        listener.phase("foreign keys", progress);
        keys.restore(n);
        // The position's tick, kept on old: its absence there later tells that old came back behind it (a failover).
        ChangeLog.keep(o, start);
        ApplyProgress.arm(n, Way.FORWARD, start);
        StartState.finish(n);
      } catch (Exception e) {
        closeQuietly(exporter);
        undo(o, n, e instanceof ReplicatorException ? List.of() : tables, aside, indexesDropped, keys, keysDropped, e);
        throw e;
      } finally {
        closeQuietly(exporter);
      }
      List<StartReport.TableCopy> copies = new ArrayList<>();
      for (CopyProgress.TableProgress t : progress.tables()) {
        copies.add(new StartReport.TableCopy(t.table().toString(), t.rows(), t.bytes(), t.chunks(), t.binary(), t.frozen(),
            t.elapsed().toMillis()));
      }
      return new StartReport(null, start.snapshot().text(), copies, aside.dropped().size() + keys.keys().size(),
          aside.rebuild().size() + keys.keys().size(), timing.copyMillis(), timing.afterCopyMillis(), (System.nanoTime() - t0) / 1_000_000,
          timing.largeObjects(), timing.largeObjectBytes(), views, warnings(warnings, timing), null, Capture.TRIGGERS, choice.explain());
    }
  }

  private static List<String> warnings(List<String> warnings, Loader.Timing timing) {
    List<String> all = new ArrayList<>(warnings);
    if (timing.largeObjects() > 0) {
      all.add(timing.largeObjects() + " large object(s) were copied from the snapshot, but trigger capture does not carry"
          + " large objects: run `cutover-replicator sync-large-objects` right before the switch, and `verify` compares them");
    }
    return List.copyOf(all);
  }

  private void preconditions(Connection o, Connection n, int oldMajor) throws SQLException, ReplicatorException {
    if (oldMajor < EngineChoice.TRIGGERS_MIN) {
      throw new ReplicatorException(Failure.PRECONDITION, "old runs PostgreSQL " + Sql.string(o, "SHOW server_version")
          + ", older than 9.6", "upgrade it in place to 9.6 or newer first");
    }
    if (Sql.majorVersionOf(n) < 12) {
      throw new ReplicatorException(Failure.PRECONDITION, "new runs PostgreSQL " + Sql.majorVersionOf(n) + ", older than 12",
          "move to PostgreSQL 12 to 18");
    }
    Optional<String> another = CaptureSchema.installed(o) ? CaptureSchema.ofAnother(o, Side.OLD, n) : Optional.empty();
    if (another.isPresent()) {
      throw new ReplicatorException(Failure.PRECONDITION, another.get(), CaptureSchema.OF_ANOTHER_REMEDY + "; start changed nothing");
    }
    if (CaptureSchema.installed(o) || ApplyProgress.armed(n, Way.FORWARD)) {
      throw new ReplicatorException(Failure.PRECONDITION, "old already has trigger capture from an earlier start",
          "see `cutover-replicator status`, or run `cutover-replicator cleanup` to start over");
    }
    if (ReplicationObjects.subscriptionExists(n, names.forward())) {
      throw new ReplicatorException(Failure.PRECONDITION, "new already has subscription " + names.forward() + " from an earlier start",
          "see `cutover-replicator status`, or run `cutover-replicator cleanup` to start over");
    }
    for (Object[] side : new Object[][] {{o, "old"}, {n, "new"}}) {
      String remedy = CaptureChecks.controlSchemaRemedy((Connection) side[0]);
      if (remedy != null) {
        throw new ReplicatorException(Failure.PRIVILEGE, side[1] + ": role " + Catalog.currentUser((Connection) side[0])
            + " may not create the control schema cutover in this database", remedy + " (trigger capture: "
            + choice.explain() + ")");
      }
    }
    RowSecurityCheck.require(o, n, "start");
    List<TableName> onOld = Catalog.applicationTables(o);
    CaptureSchema.requireCaptureFiresFirst(o, "old", onOld, "start");
    requireOwner(o, "old", onOld);
    requireOwner(n, "new", onOld.stream().filter(t -> describeQuietly(n, t).isPresent()).toList());
    List<String> problems = new ArrayList<>();
    int configTables = 0;
    for (TableName t : onOld) {
      Optional<TableInfo> onNew = Catalog.describe(n, t);
      if (onNew.isEmpty()) {
        problems.add(t + " is missing on new");
        continue;
      }
      TableInfo info = Catalog.require(o, t, "old");
      String incompatible = InitialCopy.incompatibility(new TablePair(info, onNew.get()));
      if (incompatible != null) {
        problems.add(incompatible);
      } else if (info.replicaIdentity() != 'f' && info.hasKey() && !info.key().equals(onNew.get().key())) {
        problems.add(t + " is keyed by " + info.key() + " on old but " + onNew.get().key() + " on new");
      } else if (Sql.bool(n, "SELECT EXISTS (SELECT 1 FROM ONLY " + t.quoted() + ")")) {
        String config = Catalog.configTableRows(n, t);
        problems.add(t + " on new already has rows" + (config == null ? "" : " (" + config + ")"));
        configTables += config == null ? 0 : 1;
      }
    }
    if (!problems.isEmpty()) {
      throw new ReplicatorException(Failure.PRECONDITION, "new is not ready for the copy: " + String.join(", ", problems),
          configTables == problems.size() ? "TRUNCATE on new the extensions' configuration tables named (start copies into empty"
              + " tables only; schema again would fill them again)" : "create the schema with `cutover-replicator schema` into an empty"
              + " database (start copies into empty tables only)" + (configTables == 0 ? "" : "; TRUNCATE on new the extensions'"
              + " configuration tables named, which CREATE EXTENSION fills"));
    }
  }

  private static Optional<TableInfo> describeQuietly(Connection c, TableName t) {
    try {
      return Catalog.describe(c, t);
    } catch (SQLException e) {
      return Optional.empty();
    }
  }

  /**
   * Fails with {@link Failure#PRIVILEGE} unless the role owns every table (directly or through a
   * role it belongs to) or is a superuser: triggers, and on new ALTER TABLE and the index builds,
   * need ownership, and trigger capture needs nothing more.
   */
  static void requireOwner(Connection c, String side, List<TableName> tables) throws SQLException, ReplicatorException {
    List<String> notOwned = new ArrayList<>();
    for (TableName t : tables) {
      if (!Sql.bool(c, "SELECT pg_has_role(current_user, relowner, 'USAGE') FROM pg_class WHERE oid = ?::regclass", t.regclass())) {
        notOwned.add(t.toString());
      }
    }
    if (!notOwned.isEmpty()) {
      String user = Catalog.currentUser(c);
      throw new ReplicatorException(Failure.PRIVILEGE, side + ": role " + user + " does not own " + String.join(", ",
          notOwned.subList(0, Math.min(5, notOwned.size()))) + (notOwned.size() > 5 ? " and " + (notOwned.size() - 5) + " more" : ""),
          "connect to " + side + " as the tables' owner, or ALTER TABLE ... OWNER TO " + Sql.ident(user)
              + " (trigger capture needs ownership of the tables and nothing more)");
    }
  }

  private static void closeQuietly(Connection c) {
    try {
      c.close();
    } catch (SQLException ignored) {
      // Closing the exporting connection only ends its snapshot.
    }
  }

  /** Removes the capture and puts new back as it was, so start can run again; over new connections where the failure lost one. */
  private void undo(Connection o, Connection n, List<TablePair> tables, IndexSetAside aside, boolean indexesDropped,
      ForeignKeySetAside keys, boolean keysDropped, Exception cause) {
    try (UndoConnection oo = new UndoConnection(o, old); UndoConnection nn = new UndoConnection(n, nw)) {
      UndoConnection.attempt(cause, () -> CaptureSchema.uninstall(oo.get(), "old"));
      UndoConnection.attempt(cause, () -> {
        Sql.execute(nn.get(), "DELETE FROM cutover.apply_progress WHERE direction = 'forward'");
        if (!tables.isEmpty()) {
          Sql.execute(nn.get(), "TRUNCATE " + tables.stream().map(t -> t.nw().name().quoted()).collect(Collectors.joining(", ")));
        }
        if (indexesDropped) {
          aside.restore(nn.get());
        }
        if (keysDropped) {
          keys.restore(nn.get());
        }
        StartState.forgetAside(nn.get());
      });
    } catch (SQLException e) {
      cause.addSuppressed(e);
    }
  }

}
