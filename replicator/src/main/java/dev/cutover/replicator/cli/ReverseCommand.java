package dev.cutover.replicator.cli;

import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.replication.Reverse;
import java.time.Duration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "reverse", mixinStandardHelpOptions = true,
    description = {"Arms replication new -> old, so that flipping back loses nothing.",
        "PostgreSQL 16+ on both sides: origin = none on both subscriptions, forward keeps running. Older: refused until old is fenced (the switch fences it); then forward is drained (barrier), dropped, and only then reverse is created, without an initial copy. Exit code 5 when refused."})
final class ReverseCommand extends BaseCommand {
  @Option(names = "--wait-for-fence", paramLabel = "DURATION", converter = Units.DurationConverter.class, defaultValue = "0s",
      description = "Below 16: wait this long for old's fence instead of refusing at once (default: ${DEFAULT-VALUE}).")
  Duration waitForFence;

  @Option(names = "--drain-timeout", paramLabel = "DURATION", converter = Units.DurationConverter.class, defaultValue = "30s",
      description = "How long forward may take to deliver the barrier (default: ${DEFAULT-VALUE}).")
  Duration drainTimeout;

  @Override
  int run(Replicator r) throws Exception {
    Reverse.Report report = r.reverse(new Reverse.Options(waitForFence, drainTimeout));
    print(report, () -> {
      out().println("reverse replication (new -> old) armed, " + report.mode() + ":");
      for (String step : report.steps()) {
        out().println("  - " + step);
      }
    });
    return 0;
  }
}
