package dev.cutover.replicator.cli;

import dev.cutover.replicator.Replicator;
import java.time.Duration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "catch-up", mixinStandardHelpOptions = true,
    description = {"Waits until replication has applied everything committed so far.",
        "A barrier marker written now on the source must arrive on the other side. Exit code 8 after --timeout, or after 10 s"
            + " with no `cutover-replicator apply` running where trigger capture or a relay needs one; exit code 3 within"
            + " --timeout where a side does not answer its login; exit code 7 once caught up, naming them with the statements"
            + " that have them carried, while replication does not carry application tables (outside the publication, or without"
            + " capture triggers)."})
final class CatchUpCommand extends BaseCommand {
  @Option(names = "--timeout", paramLabel = "DURATION", converter = Units.DurationConverter.class, defaultValue = "60s",
      description = "How long to wait (default: ${DEFAULT-VALUE}).")
  Duration timeout;

  @Override
  int run(Replicator r) throws Exception {
    Units.requirePositive(spec.commandLine(), "--timeout", timeout);
    Duration took = r.awaitCaughtUp(timeout);
    print(java.util.Map.of("millis", took.toMillis()), () -> out().println("caught up in " + Units.duration(took)));
    return 0;
  }
}
