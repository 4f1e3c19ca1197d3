package dev.cutover.replicator.cli;

import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.apply.ApplyFailures;
import dev.cutover.replicator.replication.HeartbeatWriter;
import dev.cutover.replicator.status.StatusReport;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "status", mixinStandardHelpOptions = true,
    description = {"Shows replication state, lag and problems per direction.",
        "Per-table state, lag in bytes (slot) and in time (heartbeat), slot health (wal_status, safe_wal_size), apply errors and conflicts, and what is wrong. With --watch it prints again every interval and meanwhile writes the heartbeat on the source of each armed direction (old for forward, new for the way back)."})
final class StatusCommand extends BaseCommand {
  @Option(names = "--watch", description = "Print again every --interval until interrupted (or --count times).")
  boolean watch;

  @Option(names = "--interval", paramLabel = "DURATION", converter = Units.DurationConverter.class, defaultValue = "2s",
      description = "Time between prints with --watch (default: ${DEFAULT-VALUE}).")
  Duration interval;

  @Option(names = "--count", paramLabel = "N", defaultValue = "0", description = "With --watch, stop after N prints (0: never).")
  int count;

  @Mixin
  NetworkTimeoutOption network;

  @Option(names = "--no-heartbeat", description = "With --watch, only read; do not write the heartbeat.")
  boolean noHeartbeat;

  @Option(names = "--heartbeat-interval", paramLabel = "DURATION", converter = Units.DurationConverter.class, defaultValue = "1s",
      description = "How often --watch writes the heartbeat (default: ${DEFAULT-VALUE}).")
  Duration heartbeatInterval;

  @Override
  int run(Replicator r) throws Exception {
    Units.requirePositive(spec.commandLine(), "--interval", interval);
    Units.requireNonNegative(spec.commandLine(), "--count", count);
    Units.requirePositive(spec.commandLine(), "--heartbeat-interval", heartbeatInterval);
    Duration networkTimeout = network.get();
    // On each armed direction's source: after the switch below 16 only the way back runs, and beats on old reach nothing (r22).
    List<HeartbeatWriter> beats = new ArrayList<>();
    try {
      if (watch && !noHeartbeat) {
        for (Side side : r.heartbeatSources(networkTimeout, OPTION)) {
          beats.add(r.heartbeat(side, heartbeatInterval, networkTimeout, OPTION));
        }
      }
      Repaint.watch(watch, interval, count, err(), () -> show(r.status(networkTimeout)));
    } finally {
      beats.forEach(HeartbeatWriter::close);
    }
    return 0;
  }

  private static final String OPTION = "status --network-timeout";

  private void show(StatusReport report) {
    print(report, () -> {
      if (report.directions().isEmpty()) {
        out().println("no replication between old and new (run `cutover-replicator start`)");
      }
      for (StatusReport.Direction d : report.directions()) {
        String arrow = d.name().equals("forward") ? "old -> new" : "new -> old";
        out().println(d.name() + " (" + arrow + "): " + d.state().toUpperCase(java.util.Locale.ROOT));
        // Without a lag beside a beat on the source, a problem below says why (none reached the target yet, its clock stepped back).
        String beat = (d.heartbeatLagMillis() != null ? Units.millis(d.heartbeatLagMillis()) + " by heartbeat"
            : d.lastBeatAgeMillis() == null ? "? (no heartbeat)" : "? by heartbeat (see below)")
            + (d.lastBeatAgeMillis() == null ? "" : " (last beat " + Units.millis(d.lastBeatAgeMillis()) + " ago)");
        if (d.capture() != null) {
          showCapture(d, beat);
          continue;
        }
        out().println("  " + (d.relay() != null ? "engine: relayed replication; " : "") + "lag: "
            + (d.lagBytes() == null ? "?" : Units.bytes(d.lagBytes())) + " of WAL, " + beat);
        if (d.slot() != null) {
          out().println("  slot " + d.slot().name() + ": " + (d.slot().active() ? "active" : "inactive")
              + (d.slot().walStatus() == null ? "" : ", wal_status " + d.slot().walStatus())
              + (d.slot().safeWalSizeBytes() == null ? "" : ", safe_wal_size " + Units.bytes(d.slot().safeWalSizeBytes()))
              + (d.slot().retainedBytes() == null ? "" : ", retains " + Units.bytes(d.slot().retainedBytes()) + " of WAL")
              + ", confirmed " + d.slot().confirmedFlushLsn() + " of " + d.slot().currentLsn());
        }
        if (d.relay() != null) {
          showRelay(d);
          continue;
        }
        if (!d.subscriptionExists()) {
          // Dropped by hand, or a prepared way back not armed yet: it was shown as "disabled", "tables: 0 of 0 ready" (v1).
          out().println("  subscription: missing on " + (d.source().equals("old") ? "new" : "old") + ", nothing is applied");
          problems(d);
          continue;
        }
        out().println("  subscription: " + (d.subscriptionEnabled() ? "enabled" : "disabled") + ", apply worker "
            + (d.applyWorkerRunning() ? "running" : "not running")
            + (d.applyErrors() == null ? "" : ", " + d.applyErrors() + " apply error(s), " + d.syncErrors() + " sync error(s)")
            + conflicts(d.conflicts()));
        long ready = d.tables().values().stream().filter(s -> s.equals("ready")).count();
        out().println("  tables: " + ready + " of " + d.tables().size() + " ready"
            + (ready == d.tables().size() ? "" : " " + d.tables()));
        problems(d);
      }
    });
  }

  /** A direction of relayed replication: after its slot, the apply process and position. */
  private void showRelay(StatusReport.Direction d) {
    StatusReport.Relayed r = d.relay();
    out().println("  apply into new: " + applyState(d, r.applying()) + ", " + Units.count(r.batches()) + " batch(es), "
        + Units.count(r.changes()) + " change(s) so far" + (r.notFound() == 0 ? "" : ", " + r.notFound() + " found no row")
        + "; applied up to " + r.appliedLsn() + (r.appliedAgeMillis() == null ? "" : ", " + Units.millis(r.appliedAgeMillis())
        + " ago by old's clock"));
    problems(d);
  }

  /** A direction of trigger capture: change log, position, apply process. */
  private void showCapture(StatusReport.Direction d, String beat) {
    StatusReport.Captured c = d.capture();
    String target = d.source().equals("old") ? "new" : "old";
    out().println("  engine: trigger capture; lag: " + Units.millis(c.appliedAgeMillis()) + " since the applied snapshot was taken, "
        + beat);
    out().println("  change log on " + d.source() + ": " + Units.count(c.logRows()) + " row(s)"
        + (c.logRowsEstimated() ? " (estimated)" : "") + ", " + Units.bytes(c.logBytes()) + ", " + (c.morePendingRows() ? "more than " : "")
        + Units.count(c.pendingRows()) + " not applied yet" + (c.logRows() == 0 ? "" : ", oldest written " + Units.millis(c.logAgeMillis())
        + " ago"));
    out().println("  apply into " + target + ": " + applyState(d, c.applying()) + ", " + Units.count(c.batches())
        + " batch(es), " + Units.count(c.changes()) + " change(s) so far" + (c.notFound() == 0 ? "" : ", " + c.notFound()
        + " found no row") + "; applied up to " + c.appliedSnapshot());
    long captured = d.tables().values().stream().filter("captured"::equals).count();
    out().println("  tables: " + captured + " captured" + (captured == d.tables().size() ? "" : ", " + (d.tables().size() - captured)
        + " NOT captured"));
    problems(d);
  }

  /** Whether an apply process holds the direction now, or retries a failed batch (holding nothing between tries). */
  private static String applyState(StatusReport.Direction d, boolean applying) {
    if ("failing".equals(d.state())) {
      String target = d.source().equals("old") ? "new" : "old";
      for (String side : List.of(target, d.source())) {
        if (d.problems().stream().anyMatch(p -> p.startsWith(ApplyFailures.unreachedLead(target, side)))) {
          return "running, but cannot reach " + (side.equals(target) ? "its target " : "its source ") + side;
        }
      }
      return "retrying a failed batch";
    }
    return applying ? "running" : "NOT running";
  }

  private void problems(StatusReport.Direction d) {
    for (String p : d.problems()) {
      out().println("  ! " + p);
    }
  }

  private static String conflicts(Map<String, Long> c) {
    long total = c.values().stream().mapToLong(Long::longValue).sum();
    return c.isEmpty() ? "" : ", " + total + " conflict(s) " + (total == 0 ? "" : c.toString());
  }
}
