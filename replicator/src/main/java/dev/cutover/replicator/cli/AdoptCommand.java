package dev.cutover.replicator.cli;

import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.capture.Adopt;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "adopt", mixinStandardHelpOptions = true,
    description = {"Brings tables of old's that trigger capture does not carry into replication, without a new start.",
        "For tables created after start where no event trigger gave them capture triggers (status names them): each is"
            + " made on the other side where missing, given its capture triggers and copied, in one transaction that holds its"
            + " writers until the copy is there; rows the other side held in it are replaced."})
final class AdoptCommand extends BaseCommand {
  @Parameters(arity = "1..*", paramLabel = "TABLE", description = "A table as status names it, with its schema, as SQL reads it: public.orders, or public.\"Orders\""
          + " (in single quotes for the shell) where case matters.")
  List<String> tables;

  @Option(names = "--from", paramLabel = "SIDE", defaultValue = "old",
      description = "Where the tables were created: old (forward, before the switch) or new (the way back, after it)"
          + " (default: ${DEFAULT-VALUE}).")
  String from;

  @Option(names = "--lock-timeout", paramLabel = "DURATION", converter = Units.DurationConverter.class, defaultValue = "10s",
      description = "How long to wait for transactions writing a table on old to end (default: ${DEFAULT-VALUE}); exit 8 after.")
  Duration lockTimeout;

  @Mixin
  NetworkTimeoutOption network;

  @Override
  int run(Replicator r) throws Exception {
    Units.requirePositive(spec.commandLine(), "--lock-timeout", lockTimeout);
    Side side = Units.side(spec.commandLine(), "--from", from);
    List<Adopt.Result> adopted = r.adopt(tables, side, lockTimeout, network.get());
    String to = side.other().label();
    print(Map.of("adopted", adopted.stream().map(a -> Map.of("table", a.table().toString(), "created", a.created(),
        "replaced", a.replaced(), "copied", a.copied())).toList()), () -> adopted.forEach(a -> out().println("adopted " + a.table().sqlName()
        + ": " + (a.created() ? "made on " + to + ", " : a.replaced() > 0 ? a.replaced() + " row(s) " + to + " held replaced, " : "")
        + a.copied() + " row(s) copied; its writes on " + side.label() + " are captured from now on")));
    return 0;
  }
}
