package dev.cutover.replicator.cli;

import dev.cutover.replicator.Failure;
import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.check.CheckReport;
import dev.cutover.replicator.check.Finding;
import dev.cutover.replicator.capture.Capture;
import java.time.Duration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "check", mixinStandardHelpOptions = true,
    description = {"Preflight of both databases; changes nothing.",
        "Which engine replicates and why (logical replication, or trigger capture where logical decoding is out of reach), versions, wal_level, slot and sender limits, privileges (by capability, with the grant to add; for trigger capture, table ownership), the application roles' privileges on new (--app-role), roles missing on new, tables without a key, schema parity, sequences, extensions, unlogged tables, large objects, leftovers of an earlier run. Exit code 6 when any finding is an error."})
final class CheckCommand extends BaseCommand {
  @Mixin
  AppRoleOptions app;

  @Option(names = "--capture", paramLabel = "ENGINE", defaultValue = "auto", converter = CaptureConverter.class,
      description = "Check for logical, relay, triggers, or auto (the engine start would choose) (default: ${DEFAULT-VALUE}).")
  Capture capture;

  @Mixin
  NetworkTimeoutOption network;

  @Override
  int run(Replicator r) throws Exception {
    Duration networkTimeout = network.get();
    CheckReport report = r.check(app.appRoles, capture, networkTimeout);
    print(report, () -> {
      out().println("old: PostgreSQL " + report.oldVersion() + "   new: PostgreSQL " + report.newVersion());
      for (Finding f : report.findings()) {
        out().printf("%-7s %-4s %s%n", f.severity(), f.side(), f.message());
        if (!f.remedy().isEmpty()) {
          out().println("             remedy: " + f.remedy());
        }
      }
      out().println(report.errors() + " error(s), " + report.warnings() + " warning(s)");
    });
    return report.errors() > 0 ? Failure.CHECK_FAILED.exitCode() : 0;
  }
}
