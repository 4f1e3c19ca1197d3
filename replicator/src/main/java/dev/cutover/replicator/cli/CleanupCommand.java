package dev.cutover.replicator.cli;

import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.cleanup.Cleanup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "cleanup", mixinStandardHelpOptions = true,
    description = {"Removes everything the replicator created, on both sides.",
        "Subscriptions, publications and slots named cutover_*, the cutover schema and its fence triggers, and nothing else. Idempotent. Run it once the cutover is final: without the control schema the driver cannot fence."})
final class CleanupCommand extends BaseCommand {
  @Mixin
  NetworkTimeoutOption network;

  @Override
  int run(Replicator r) throws Exception {
    Cleanup.Report report = r.cleanup(network.get());
    print(report, () -> {
      if (report.nothingFound()) {
        out().println("nothing of ours on old or new");
        return;
      }
      report.removedOnOld().forEach(s -> out().println("old: removed " + s));
      report.removedOnNew().forEach(s -> out().println("new: removed " + s));
      report.putBackOnNew().forEach(s -> out().println("new: put back " + s + ", set aside by a start that did not finish"));
      report.kept().forEach(s -> out().println("kept " + s));
    });
    return 0;
  }
}
