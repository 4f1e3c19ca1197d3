package dev.cutover.replicator.cli;

import java.time.Duration;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code --network-timeout} for the commands whose statements may rightly run for hours ({@code
 * start}, {@code verify}): no read limit, but a side whose server waits on the replicator while the
 * replicator waits on it is given up after it ({@link dev.cutover.replicator.SilenceWatch}).
 */
final class SilenceTimeoutOption {
  @Option(names = "--network-timeout", paramLabel = "DURATION", converter = Units.DurationConverter.class, defaultValue = "30s",
      description = {"How long a side may pass nothing on while its server and the replicator each wait on the other (a"
          + " stalled proxy, NAT or firewall, a frozen server) (default: ${DEFAULT-VALUE}).",
          "Past it the command stops naming the side (exit 3). Statements that run long on the server (a table's copy or"
              + " hash, an index build) are not limited by it."})
  Duration value;

  @Spec(Spec.Target.MIXEE)
  CommandSpec command;

  /** The timeout, refused (exit 2 with the usage) unless longer than 0. */
  Duration get() {
    Units.requirePositive(command.commandLine(), "--network-timeout", value);
    return value;
  }
}
