package dev.cutover.replicator.cli;

import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.replication.HeartbeatWriter;
import java.time.Duration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "heartbeat", mixinStandardHelpOptions = true,
    description = {"Writes the heartbeat that status turns into lag in time.",
        "Writes the heartbeat row on the source database every interval, in the foreground, until interrupted (or for --duration). Run it for as long as the cutover lasts, e.g. beside the application."})
final class HeartbeatCommand extends BaseCommand {
  @Option(names = "--interval", paramLabel = "DURATION", converter = Units.DurationConverter.class, defaultValue = "1s",
      description = "Time between beats (default: ${DEFAULT-VALUE}).")
  Duration interval;

  @Option(names = "--source", paramLabel = "SIDE", defaultValue = "old",
      description = "Where to beat: old (forward replication) or new (reverse) (default: ${DEFAULT-VALUE}).")
  String source;

  @Option(names = "--duration", paramLabel = "DURATION", converter = Units.DurationConverter.class,
      description = "Stop after this long (default: run until interrupted).")
  Duration duration;

  @Override
  int run(Replicator r) throws Exception {
    Units.requirePositive(spec.commandLine(), "--interval", interval);
    Units.requirePositive(spec.commandLine(), "--duration", duration);
    Side side = Units.side(spec.commandLine(), "--source", source);
    long beats;
    // Refused (swapped URLs, or a side that is a running direction's target) before the first beat.
    try (HeartbeatWriter writer = r.heartbeat(side, interval)) {
      if (!json()) {
        err().println("cutover-replicator: writing the heartbeat on " + side.label() + " every " + Units.duration(interval)
            + (duration == null ? " until interrupted" : " for " + Units.duration(duration)));
        err().flush();
      }
      long until = duration == null ? Long.MAX_VALUE : System.currentTimeMillis() + duration.toMillis();
      while (System.currentTimeMillis() < until) {
        Thread.sleep(Math.min(500, Math.max(1, until - System.currentTimeMillis())));
      }
      beats = writer.beats();
    }
    long written = beats;
    print(java.util.Map.of("source", side.label(), "beats", written), () -> out().println(written + " beat(s) written on " + side.label()));
    return 0;
  }
}
