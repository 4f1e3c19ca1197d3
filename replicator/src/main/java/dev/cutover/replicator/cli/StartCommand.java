package dev.cutover.replicator.cli;

import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.capture.Capture;
import dev.cutover.replicator.copy.CopyProgress;
import dev.cutover.replicator.replication.StartOptions;
import dev.cutover.replicator.replication.StartReport;
import dev.cutover.replicator.replication.KeylessTables;
import dev.cutover.replicator.sql.QualifiedNames;
import dev.cutover.replicator.sql.TableName;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "start", mixinStandardHelpOptions = true,
    description = {"Starts replication old -> new with a fast, snapshot-consistent initial copy.",
        "Control schema on both sides, publication on old, a slot with an exported snapshot, a parallel copy under that snapshot into bare tables (binary COPY where the types allow, whole tables with COPY FREEZE), index builds with old's definitions as soon as each table is in, and a subscription that streams from the same slot: nothing written during the copy is lost or applied twice.",
        "With --capture triggers (or auto, where logical replication is out of reach): capture triggers on old's tables first, then the same copy from a snapshot exported with pg_export_snapshot(), and `cutover-replicator apply` applies exactly what that snapshot did not see. Needs only ownership of the tables on both sides.",
        "With --capture relay (or auto, from PostgreSQL 11, which logical replication here does not take): the same publication, slot and copy as logical, but no subscription: `cutover-replicator apply` reads the slot and writes into new, so new needs no route to old (a private network)."})
final class StartCommand extends BaseCommand {
  @Option(names = "--jobs", paramLabel = "N", description = "Parallel copy and index workers (default: cores, at least 2).")
  Integer jobs;

  @Option(names = "--chunk-size", paramLabel = "SIZE", converter = Units.SizeConverter.class,
      description = "Tables larger than this are copied in parallel chunks of about this size; a table copied whole goes in one stream with COPY FREEZE"
          + " (default: whole tables with 2 jobs or fewer, else 256MB).")
  Long chunkSize;

  @Option(names = "--text", description = "Use text COPY even where binary would work.")
  boolean text;

  @Option(names = "--keep-indexes", description = "Copy into indexed tables instead of building indexes afterwards (slower).")
  boolean keepIndexes;

  @Option(names = "--maintenance-work-mem", paramLabel = "SIZE", defaultValue = "256MB",
      description = "maintenance_work_mem for the index builds on new (default: ${DEFAULT-VALUE}).")
  String maintenanceWorkMem;

  @Option(names = "--no-progress", description = "Do not show progress on standard error.")
  boolean noProgress;

  @Option(names = "--capture", paramLabel = "ENGINE", defaultValue = "auto", converter = CaptureConverter.class,
      description = "logical (publication, slot, subscription on new), relay (publication and slot on old, read by `cutover-replicator apply`, which writes into new: new never connects to old), triggers (row triggers into a change log on old, applied by"
          + " `cutover-replicator apply`; needs only table ownership, sources from 9.6, new never connects to old), or auto: logical"
          + " where old, the roles and new allow it, relay where only old's version (11) keeps logical out and the role on new may set"
          + " session_replication_role, else triggers; `check` says which and why (default: ${DEFAULT-VALUE}).")
  Capture capture;

  @Option(names = "--replica-identity-full", arity = "0..1", paramLabel = "TABLES", fallbackValue = ALL,
      description = "Give tables without primary key or replica identity REPLICA IDENTITY FULL on old, all of them or those named"
          + " (schema.table as SQL reads it, comma-separated: public.audit,public.\"Orders\",\"sch.x\".\"t,1\"; start prints them so);"
          + " without it start refuses such tables, since UPDATE and DELETE on them fail on old once published.")
  List<String> replicaIdentityFull;

  @Option(names = "--slot-wait", paramLabel = "DURATION", converter = Units.DurationConverter.class, defaultValue = "2m",
      description = "How long creating the replication slot on old may wait for transactions running on old's server (any database)"
          + " to end, as its snapshot must; then start gives up, naming them (default: ${DEFAULT-VALUE}).")
  Duration slotWait;

  @Mixin
  SilenceTimeoutOption network;

  @Option(names = "--resume", description = "Continue an interrupted start: keep the tables it finished, copy the rest again from a new"
      + " consistent point, and subscribe from the same slot (no drift window).")
  boolean resume;

  @Mixin
  AppRoleOptions roles;

  private static final String ALL = "*";

  private KeylessTables keyless() {
    if (replicaIdentityFull == null) {
      return KeylessTables.REFUSE;
    }
    if (replicaIdentityFull.contains(ALL)) {
      return KeylessTables.ALL_FULL;
    }
    Set<TableName> tables = new LinkedHashSet<>();
    for (String list : replicaIdentityFull) {
      try {
        QualifiedNames.list(list).forEach(w -> tables.add(w.folded("public")));
      } catch (IllegalArgumentException e) {
        throw Units.usage(spec.commandLine(), "--replica-identity-full: " + e.getMessage());
      }
    }
    return KeylessTables.full(tables);
  }

  @Override
  List<String> appRoles() {
    return roles.appRoles;
  }

  @Override
  int run(Replicator r) throws Exception {
    StartOptions defaults = StartOptions.defaults();
    if (jobs != null && (jobs < 1 || jobs > 64)) {
      throw Units.usage(spec.commandLine(), "--jobs must be between 1 and 64, not " + jobs);
    }
    if (chunkSize != null && chunkSize < 8192) {
      throw Units.usage(spec.commandLine(), "--chunk-size must be at least 8kB, not " + chunkSize + " bytes");
    }
    if (slotWait.isNegative() || slotWait.isZero()) {
      throw Units.usage(spec.commandLine(), "--slot-wait must be positive, not " + slotWait.toMillis() + "ms");
    }
    StartOptions options;
    try {
      options = new StartOptions(jobs == null ? defaults.jobs() : jobs,
          chunkSize == null ? StartOptions.AUTO_CHUNKS : chunkSize, !text, !keepIndexes, maintenanceWorkMem, keyless(), resume, capture,
          slotWait);
    } catch (IllegalArgumentException e) {
      throw Units.usage(spec.commandLine(), "--maintenance-work-mem: " + e.getMessage());
    }
    Duration networkTimeout = network.get();
    CopyProgress progress = new CopyProgress();
    StartReport report;
    if (noProgress) {
      report = r.start(options, progress, dev.cutover.replicator.copy.CopyListener.NONE, networkTimeout);
    } else {
      try (ProgressView view = new ProgressView(err(), context.terminal && !json())) {
        report = r.start(options, progress, view, networkTimeout);
      }
    }
    print(report, () -> {
      if (report.engine() == Capture.TRIGGERS) {
        out().println("trigger capture old -> new started: " + report.engineReason());
        out().println("the copy is old's snapshot " + report.consistentPoint() + "; applying starts right after it");
      } else if (report.engine() == Capture.RELAY) {
        out().println("relayed replication old -> new started: " + report.engineReason());
        out().println("the copy ends where slot " + report.slot() + " begins, at " + report.consistentPoint() + "; applying starts there");
      } else {
        out().println("replication old -> new started from slot " + report.slot() + " at " + report.consistentPoint());
      }
      for (StartReport.TableCopy t : report.tables()) {
        out().printf(Locale.ROOT, "  %-40s %12s rows %10s  %d chunk(s) %s%s  %s%n", t.table(), Units.count(t.rows()), Units.bytes(t.bytes()),
            t.chunks(), t.binary() ? "binary" : "text", t.frozen() ? " frozen" : "", Units.millis(t.millis()));
      }
      double seconds = Math.max(0.001, report.copyMillis() / 1000.0);
      out().printf(Locale.ROOT, "copied %s rows, %s in %s (%s rows/s, %s/s); %d index(es) set aside, %d built in %s; total %s%n",
          Units.count(report.rows()), Units.bytes(report.bytes()), Units.millis(report.copyMillis()),
          Units.count(Math.round(report.rows() / seconds)), Units.bytes(Math.round(report.bytes() / seconds)),
          report.indexesSetAside(), report.indexesBuilt(), Units.millis(report.indexMillis()), Units.millis(report.totalMillis()));
      if (report.resumed() != null) {
        StartReport.Resumed r2 = report.resumed();
        out().println("resumed: kept " + r2.kept().size() + " table(s) the interrupted start had copied (" + Units.count(r2.keptRows())
            + " rows, " + Units.bytes(r2.keptBytes()) + ", " + Units.millis(r2.savedMillis()) + " of copying saved), copied "
            + r2.copiedAgain().size() + " again from a new consistent point");
      }
      if (report.largeObjects() > 0) {
        out().println("copied " + Units.count(report.largeObjects()) + " large object(s), " + Units.bytes(report.largeObjectBytes()));
      }
      if (!report.materializedViews().isEmpty()) {
        out().println("refreshed " + report.materializedViews().size() + " materialized view(s) on new: " + String.join(", ", report.materializedViews()));
      }
      for (String w : report.warnings()) {
        out().println("warning: " + w);
      }
      out().println(report.engine() != Capture.LOGICAL
          ? "next: `cutover-replicator apply` (keep it running), `cutover-replicator status --watch`, then `verify`"
          : "next: `cutover-replicator status --watch` (it also writes the heartbeat), then `verify`");
    });
    return 0;
  }
}
