package dev.cutover.replicator.cli;

import dev.cutover.driver.control.SequenceMove;
import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.Side;
import java.time.Duration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "sequences", mixinStandardHelpOptions = true,
    description = {"Moves every sequence on the target past the source by a margin.",
        "Serial, identity and standalone sequences, never backwards. The driver's switch runs the same code."})
final class SequencesCommand extends BaseCommand {
  @Option(names = "--margin", paramLabel = "N", defaultValue = "1000", description = "Increments to add (default: ${DEFAULT-VALUE}).")
  long margin;

  @Option(names = "--from", paramLabel = "SIDE", defaultValue = "old",
      description = "Source: old (moves new's sequences) or new (moves old's, for a flip back) (default: ${DEFAULT-VALUE}).")
  String from;

  @Mixin
  NetworkTimeoutOption network;

  @Override
  int run(Replicator r) throws Exception {
    Side side = Units.side(spec.commandLine(), "--from", from);
    if (margin < 0) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--margin must not be negative, not " + margin);
    }
    Duration networkTimeout = network.get();
    SequenceMove.Result result = r.sequences(side, margin, networkTimeout);
    print(result, () -> {
      out().println(result.moved() + " of " + result.examined() + " sequence(s) on " + side.other().label() + " moved past "
          + side.label() + " + " + margin + " increments");
      for (String m : result.missing()) {
        out().println("  ! sequence " + m + " is missing on " + side.other().label());
      }
      for (String m : result.nearLimit()) {
        out().println("  ! sequence " + m + " has fewer than " + margin + " values left before its bound: moved on "
            + side.other().label() + " only to " + side.label() + "'s value (raise its MAXVALUE, or MINVALUE going down)");
      }
    });
    return 0;
  }
}
