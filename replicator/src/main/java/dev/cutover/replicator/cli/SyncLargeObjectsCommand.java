package dev.cutover.replicator.cli;

import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.copy.LargeObjects;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "sync-large-objects", mixinStandardHelpOptions = true,
    description = {"Brings new's large objects up to old's current state, right before the switch.",
        "Logical replication does not carry large objects: start copies them from its snapshot, and this copies the ones created or changed on old since, rewrites the ones that differ and removes those old no longer has. Large objects written on old between this and the switch are not carried: stop writing them first, and `verify` compares them."})
final class SyncLargeObjectsCommand extends BaseCommand {
  @Mixin
  NetworkTimeoutOption network;

  @Override
  int run(Replicator r) throws Exception {
    LargeObjects.SyncReport report = r.syncLargeObjects(network.get());
    print(report, () -> out().println("large objects on new: " + report.copied() + " copied, " + report.replaced() + " rewritten, "
        + report.removed() + " removed (" + Units.bytes(report.bytes()) + " written)"));
    return 0;
  }
}
