package dev.cutover.replicator.cli;

import dev.cutover.replicator.Failure;
import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.verify.Verifier;
import dev.cutover.replicator.verify.VerifyProgress;
import dev.cutover.replicator.verify.VerifyReport;
import java.time.Duration;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "verify", mixinStandardHelpOptions = true,
    description = {"Compares both sides table by table and lists the rows that differ.",
        "Each server sums a hash of its rows per key range, both at once; only ranges that differ are narrowed down to the differing rows, and differences are rechecked after replication has passed them, so rows in flight are not reported. Large objects and unlogged tables (copied by start, not replicated) are compared too. Exit code 7 when rows or large objects differ."})
final class VerifyCommand extends BaseCommand {
  @Option(names = "--chunk-rows", paramLabel = "N", defaultValue = "100000", description = "Rows per checksum range (default: ${DEFAULT-VALUE}).")
  long chunkRows;

  @Option(names = "--max-keys", paramLabel = "N", defaultValue = "100", description = "Differing keys listed per table (default: ${DEFAULT-VALUE}).")
  int maxKeys;

  @Option(names = "--catch-up-timeout", paramLabel = "DURATION", converter = Units.DurationConverter.class, defaultValue = "30s",
      description = "How long replication may take to pass a difference before it is reported as is (default: ${DEFAULT-VALUE}).")
  Duration catchUpTimeout;

  @Option(names = "--jobs", paramLabel = "N", defaultValue = "2", description = "Tables compared in parallel (default: ${DEFAULT-VALUE}).")
  int jobs;

  @Mixin
  SilenceTimeoutOption network;

  @Override
  int run(Replicator r) throws Exception {
    Units.requirePositive(spec.commandLine(), "--chunk-rows", chunkRows);
    Units.requireNonNegative(spec.commandLine(), "--max-keys", maxKeys);
    Units.requirePositive(spec.commandLine(), "--catch-up-timeout", catchUpTimeout);
    Units.requirePositive(spec.commandLine(), "--jobs", jobs);
    Duration networkTimeout = network.get();
    Verifier.Options options = new Verifier.Options(chunkRows, 256, maxKeys, catchUpTimeout, 3, jobs);
    VerifyProgress progress = new VerifyProgress();
    VerifyReport report;
    try (VerifyProgressLine line = new VerifyProgressLine(err(), context.terminal && !json(), progress)) {
      report = r.verify(options, progress, networkTimeout);
    }
    print(report, () -> {
      for (VerifyReport.TableResult t : report.tables()) {
        out().printf(Locale.ROOT, "%-40s %12s rows on %s, %12s on %s, %5d range(s): %s%n", t.table(), Units.count(t.sourceRows()),
            report.source(), Units.count(t.targetRows()), report.target(), t.ranges(),
            t.differenceCount() == 0 ? "same" : t.differenceCount() + " differ");
        for (VerifyReport.Difference d : t.differences()) {
          out().println("    " + d.kind() + ": " + d.key() + (d.kind().equals("column-missing-on-target")
              ? " (its values on " + report.source() + " are not on " + report.target() + ")" : ""));
        }
        if (t.differenceCount() > t.differences().size()) {
          out().println("    ... and " + (t.differenceCount() - t.differences().size()) + " more");
        }
        for (String column : t.columnsExtraOnTarget()) {
          out().println("    column-extra-on-target: " + column + " (only on " + report.target() + "; not counted)");
        }
      }
      for (VerifyReport.TableResult t : report.notReplicated()) {
        out().printf(Locale.ROOT, "%-40s %12s rows on %s, %12s on %s: %s (unlogged: copied by start, not replicated)%n", t.table(),
            Units.count(t.sourceRows()), report.source(), Units.count(t.targetRows()), report.target(),
            t.differenceCount() == 0 ? "same" : t.differenceCount() + " differ");
      }
      if (report.largeObjects() > 0 || !report.largeObjectDifferences().isEmpty()) {
        out().println(report.largeObjects() + " large object(s) on " + report.source() + ": " + (report.largeObjectDifferences().isEmpty()
            ? "same" : report.largeObjectDifferences().size() + " differ (replication does not carry them: `cutover-replicator sync-large-objects`)"));
        for (var d : report.largeObjectDifferences().subList(0, Math.min(maxKeys, report.largeObjectDifferences().size()))) {
          out().println("    " + d.kind() + ": large object " + d.oid());
        }
      }
      if (!report.uncarried().isEmpty()) {
        out().println(report.uncarried().size() + " table(s) on " + report.source() + " not compared, as replication does not carry"
            + " them (their rows on " + report.target() + " may be missing or stale): " + String.join(", ", report.uncarried())
            + "; " + report.carry());
      }
      out().printf(Locale.ROOT, "%s row(s) compared in %s (%s rows/s): %s%s%n", Units.count(report.rows()), Units.millis(report.millis()),
          Units.count(Math.round(report.rowsPerSecond())), report.differences() == 0 ? "no differences"
              : report.differences() + " difference(s)" + (report.rechecked() ? ", rechecked after replication passed them" : ""),
          report.uncarried().isEmpty() ? "" : " in the tables compared; " + report.uncarried().size() + " table(s) not compared");
      if (report.inFlight() > 0) {
        out().println(report.inFlight() + " row(s) differed only because replication had not applied them yet (rechecked)");
      }
      if (!report.note().isEmpty()) {
        out().println("note: " + report.note());
      }
    });
    return report.clean() ? 0 : Failure.DIFFERENCES.exitCode();
  }
}
