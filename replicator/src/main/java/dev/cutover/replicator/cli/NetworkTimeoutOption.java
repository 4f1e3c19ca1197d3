package dev.cutover.replicator.cli;

import java.time.Duration;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code --network-timeout}, for the commands whose every answer is awaited a bounded time (an
 * operator's commands must not hang on a silent network or a frozen server). {@code apply} has its
 * own, with a longer default and a retry behind it.
 */
final class NetworkTimeoutOption {
  @Option(names = "--network-timeout", paramLabel = "DURATION", converter = Units.DurationConverter.class, defaultValue = "30s",
      description = {"How long each statement may wait for its answer, or for a lock the command takes (a silent network, a"
          + " frozen server, a lock held by a stuck session) (default: ${DEFAULT-VALUE}).",
          "Past it the command stops naming the side: exit 3 for no answer, 8 for a lock; --watch tries again at its next"
              + " print."})
  Duration value;

  @Spec(Spec.Target.MIXEE)
  CommandSpec command;

  /** The timeout, refused (exit 2 with the usage) unless longer than 0. */
  Duration get() {
    Units.requirePositive(command.commandLine(), "--network-timeout", value);
    return value;
  }
}
