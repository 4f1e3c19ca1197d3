package dev.cutover.replicator.cli;

import dev.cutover.replicator.Replicator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

@Command(name = "ddl-done", mixinStandardHelpOptions = true,
    description = {"Marks a schema change as done by hand, so that replication skips it and status stops asking for it.",
        "For the changes status lists as needing a step by hand (run inside a function, made on new alone, or failing on the other side): do it, then mark it with its id."})
final class DdlDoneCommand extends BaseCommand {
  @Parameters(index = "0", paramLabel = "ID", description = "The schema change's id, as status shows it.")
  String id;

  @Mixin
  NetworkTimeoutOption network;

  @Override
  int run(Replicator r) throws Exception {
    r.ddlDone(id, network.get());
    print(java.util.Map.of("done", id), () -> out().println("schema change " + id + " marked as done on both sides"));
    return 0;
  }
}
