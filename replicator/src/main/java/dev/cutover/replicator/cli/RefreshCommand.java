package dev.cutover.replicator.cli;

import dev.cutover.replicator.Replicator;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "refresh", mixinStandardHelpOptions = true,
    description = {"Refreshes on new the materialized views that are populated on old, e.g. right before the switch.",
        "Logical replication does not carry materialized views: start refreshes them on new after its copy, and with DDL capture a REFRESH on old is repeated on new; without it, run this before the switch."})
final class RefreshCommand extends BaseCommand {
  @Mixin
  NetworkTimeoutOption network;

  @Override
  int run(Replicator r) throws Exception {
    List<String> views = r.refreshMaterializedViews(network.get());
    print(java.util.Map.of("refreshed", views), () -> out().println(views.isEmpty() ? "no materialized view to refresh"
        : "refreshed " + views.size() + " materialized view(s) on new: " + String.join(", ", views)));
    return 0;
  }
}
