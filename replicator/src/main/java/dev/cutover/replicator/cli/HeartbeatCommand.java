package dev.cutover.replicator.cli;

import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.replication.HeartbeatWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "heartbeat", mixinStandardHelpOptions = true,
    description = {"Writes the heartbeat that status turns into lag in time.",
        "Writes the heartbeat row on the source database of each armed direction (or on --source) every interval, in the foreground, until interrupted (or for --duration); with trigger capture, also the ticks that cut what is written while apply is stopped into batches. Run it for as long as the cutover lasts, e.g. beside the application."})
final class HeartbeatCommand extends BaseCommand {
  @Option(names = "--interval", paramLabel = "DURATION", converter = Units.DurationConverter.class, defaultValue = "1s",
      description = "Time between beats (default: ${DEFAULT-VALUE}).")
  Duration interval;

  @Option(names = "--source", paramLabel = "SIDE",
      description = "Where to beat: old (forward replication) or new (the way back) (default: the source of each armed direction;"
          + " old where none is).")
  String source;

  @Option(names = "--duration", paramLabel = "DURATION", converter = Units.DurationConverter.class,
      description = "Stop after this long (default: run until interrupted).")
  Duration duration;

  @Override
  int run(Replicator r) throws Exception {
    Units.requirePositive(spec.commandLine(), "--interval", interval);
    Units.requirePositive(spec.commandLine(), "--duration", duration);
    // Without --source, on each armed direction's source: after the switch below 16 that is new alone, and beats on old reach nothing (r22).
    List<Side> sides = source == null ? r.heartbeatSources(Replicator.READ_TIMEOUT, null)
        : List.of(Units.side(spec.commandLine(), "--source", source));
    Map<Side, Long> written = new LinkedHashMap<>();
    List<HeartbeatWriter> writers = new ArrayList<>();
    try {
      // Refused (swapped URLs, or a side that is a running direction's target) before the first beat.
      for (Side side : sides) {
        writers.add(r.heartbeat(side, interval));
      }
      if (!json()) {
        err().println("cutover-replicator: writing the heartbeat on " + labels(sides) + " every " + Units.duration(interval)
            + (duration == null ? " until interrupted" : " for " + Units.duration(duration)));
        err().flush();
      }
      long until = duration == null ? Long.MAX_VALUE : System.currentTimeMillis() + duration.toMillis();
      while (System.currentTimeMillis() < until) {
        Thread.sleep(Math.min(500, Math.max(1, until - System.currentTimeMillis())));
      }
      for (int i = 0; i < sides.size(); i++) {
        written.put(sides.get(i), writers.get(i).beats());
      }
    } finally {
      writers.forEach(HeartbeatWriter::close);
    }
    Map<String, Object> report = new LinkedHashMap<>();
    report.put("source", labels(sides));
    report.put("beats", written.values().stream().mapToLong(Long::longValue).sum());
    print(report, () -> written.forEach((side, beats) -> out().println(beats + " beat(s) written on " + side.label())));
    return 0;
  }

  private static String labels(List<Side> sides) {
    return String.join(" and ", sides.stream().map(Side::label).toList());
  }
}
