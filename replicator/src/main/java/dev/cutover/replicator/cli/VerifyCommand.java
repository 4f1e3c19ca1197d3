package dev.cutover.replicator.cli;

import dev.cutover.replicator.Failure;
import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.verify.Verifier;
import dev.cutover.replicator.verify.VerifyReport;
import java.time.Duration;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "verify", mixinStandardHelpOptions = true,
    description = {"Compares both sides table by table and lists the rows that differ.",
        "Key ranges with checksums, bisected down to the differing rows; differences are rechecked after replication has passed them, so rows in flight are not reported. Exit code 7 when rows differ."})
final class VerifyCommand extends BaseCommand {
  @Option(names = "--chunk-rows", paramLabel = "N", defaultValue = "10000", description = "Rows per checksum range (default: ${DEFAULT-VALUE}).")
  long chunkRows;

  @Option(names = "--max-keys", paramLabel = "N", defaultValue = "100", description = "Differing keys listed per table (default: ${DEFAULT-VALUE}).")
  int maxKeys;

  @Option(names = "--catch-up-timeout", paramLabel = "DURATION", converter = Units.DurationConverter.class, defaultValue = "30s",
      description = "How long replication may take to pass a difference before it is reported as is (default: ${DEFAULT-VALUE}).")
  Duration catchUpTimeout;

  @Option(names = "--jobs", paramLabel = "N", defaultValue = "2", description = "Tables compared in parallel (default: ${DEFAULT-VALUE}).")
  int jobs;

  @Override
  int run(Replicator r) throws Exception {
    Units.requirePositive(spec.commandLine(), "--chunk-rows", chunkRows);
    Units.requireNonNegative(spec.commandLine(), "--max-keys", maxKeys);
    Units.requirePositive(spec.commandLine(), "--catch-up-timeout", catchUpTimeout);
    Units.requirePositive(spec.commandLine(), "--jobs", jobs);
    VerifyReport report = r.verify(new Verifier.Options(chunkRows, 256, maxKeys, catchUpTimeout, 3, jobs));
    print(report, () -> {
      for (VerifyReport.TableResult t : report.tables()) {
        out().printf(Locale.ROOT, "%-40s %12s rows on %s, %12s on %s, %5d range(s): %s%n", t.table(), Units.count(t.sourceRows()),
            report.source(), Units.count(t.targetRows()), report.target(), t.ranges(),
            t.differenceCount() == 0 ? "same" : t.differenceCount() + " differ");
        for (VerifyReport.Difference d : t.differences()) {
          out().println("    " + d.kind() + ": " + d.key());
        }
        if (t.differenceCount() > t.differences().size()) {
          out().println("    ... and " + (t.differenceCount() - t.differences().size()) + " more");
        }
      }
      out().printf(Locale.ROOT, "%s row(s) compared in %s (%s rows/s): %s%n", Units.count(report.rows()), Units.millis(report.millis()),
          Units.count(Math.round(report.rowsPerSecond())), report.differences() == 0 ? "no differences"
              : report.differences() + " difference(s)" + (report.rechecked() ? ", rechecked after replication passed them" : ""));
      if (report.inFlight() > 0) {
        out().println(report.inFlight() + " row(s) differed only because replication had not applied them yet (rechecked)");
      }
      if (!report.note().isEmpty()) {
        out().println("note: " + report.note());
      }
    });
    return report.differences() > 0 ? Failure.DIFFERENCES.exitCode() : 0;
  }
}
