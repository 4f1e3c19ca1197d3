package dev.cutover.replicator.cli;

import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.replication.Reverse;
import java.time.Duration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "reverse", mixinStandardHelpOptions = true,
    description = {"Turns replication around, so that flipping back loses nothing: arms new -> old while old -> new runs, and old -> new again after a flip back.",
        "PostgreSQL 16+ on both sides: origin = none on both subscriptions, both directions keep running; arm it before the switch. Older: run `reverse --prepare` before each switch (the switch then creates the way back's slot at the fence, before release), and `reverse` after it: the running direction is dropped and the way back streams from that slot, missing nothing. Unprepared, reverse is refused (writes made between the switch and reverse would not be carried back) unless --accept-missing-writes. Trigger capture: arm it any time before the switch, both directions run together; armed after it (old fenced) it is refused the same way. Exit code 5 when refused."})
final class ReverseCommand extends BaseCommand {
  @Option(names = "--wait-for-fence", paramLabel = "DURATION", converter = Units.DurationConverter.class, defaultValue = "0s",
      description = "Below 16: wait this long for the fence on the side left behind instead of refusing at once (default: ${DEFAULT-VALUE}).")
  Duration waitForFence;

  @Option(names = "--drain-timeout", paramLabel = "DURATION", converter = Units.DurationConverter.class, defaultValue = "30s",
      description = "How long the running direction may take to deliver the barrier (default: ${DEFAULT-VALUE}).")
  Duration drainTimeout;

  @Option(names = "--accept-missing-writes", description = "Below 16, when the switch created no slot for the way back:"
      + " arm it from a new slot anyway (trigger capture: arm it although old is fenced already); writes committed on the"
      + " serving side since the switch are not carried back.")
  boolean acceptMissingWrites;

  @Option(names = "--slot-wait", paramLabel = "DURATION", converter = Units.DurationConverter.class, defaultValue = "2m",
      description = "How long creating the way back's replication slot on the serving side may wait for transactions running on"
          + " its server (any database) to end, as its snapshot must; then reverse gives up, naming them (default: ${DEFAULT-VALUE}).")
  Duration slotWait;

  @Option(names = "--prepare", description = "Below 16, before the switch: create the way back's publication on the side"
      + " about to serve and ask the switch to create its slot at the fence.")
  boolean prepare;

  @Mixin
  NetworkTimeoutOption network;

  @Override
  int run(Replicator r) throws Exception {
    Units.requirePositive(spec.commandLine(), "--drain-timeout", drainTimeout);
    Units.requirePositive(spec.commandLine(), "--slot-wait", slotWait);
    Duration networkTimeout = network.get();
    if (prepare) {
      java.util.List<String> steps = r.prepareReverse(networkTimeout);
      print(steps, () -> {
        out().println("reverse --prepare:");
        steps.forEach(step -> out().println("  - " + step));
      });
      return 0;
    }
    Reverse.Report report = r.reverse(new Reverse.Options(waitForFence, drainTimeout, acceptMissingWrites, slotWait), networkTimeout);
    print(report, () -> {
      out().println("replication " + report.way() + " armed, " + report.mode() + ":");
      for (String step : report.steps()) {
        out().println("  - " + step);
      }
    });
    return 0;
  }
}
