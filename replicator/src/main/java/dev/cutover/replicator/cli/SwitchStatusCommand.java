package dev.cutover.replicator.cli;

import dev.cutover.common.Quoting;
import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.operator.SwitchStatus;
import dev.cutover.replicator.operator.SwitchStatusReader;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "switch-status", mixinStandardHelpOptions = true,
    description = {"Shows each service's switch as the control schema on both sides records it.",
        "Live instances with their heartbeat age, the side each serves and its phase in a switch; the fence on each side;"
            + " whether its next switches are forced (switch-force); the current or last switch with its state, leader and"
            + " reason. Read-only; needs a role granted the control plane (start --app-role) or its installer. --watch repeats it."})
final class SwitchStatusCommand extends BaseCommand {
  @Option(names = "--service", paramLabel = "NAME", description = "Only this service (repeatable; default: every service found).")
  List<String> services = new ArrayList<>();

  @Option(names = "--watch", description = "Print again every --interval until interrupted (or --count times).")
  boolean watch;

  @Option(names = "--interval", paramLabel = "DURATION", converter = Units.DurationConverter.class, defaultValue = "1s",
      description = "Time between prints with --watch (default: ${DEFAULT-VALUE}).")
  Duration interval;

  @Option(names = "--count", paramLabel = "N", defaultValue = "0", description = "With --watch, stop after N prints (0: never).")
  int count;

  @Mixin
  NetworkTimeoutOption network;

  @Override
  int run(Replicator r) throws Exception {
    Units.requireNonNegative(spec.commandLine(), "--count", count);
    Units.requirePositive(spec.commandLine(), "--interval", interval);
    Duration networkTimeout = network.get();
    Repaint.watch(watch, interval, count, err(), () -> {
      SwitchStatus status = SwitchStatusReader.read(r.old(), r.nw(), services, networkTimeout, "switch-status --network-timeout");
      print(status, () -> render(status));
    });
    return 0;
  }

  private void render(SwitchStatus s) {
    out().printf(Locale.ROOT, "control schema: old %s, new %s; fence: old %s, new %s%n", version(s.controlSchema().get("old")),
        version(s.controlSchema().get("new")), fence(s.fence().get("old")), fence(s.fence().get("new")));
    if (s.services().isEmpty()) {
      out().println("no service has connected through the Cutover driver yet");
    }
    for (SwitchStatus.Service service : s.services()) {
      out().printf(Locale.ROOT, "%nservice %s: %d live instance(s)%n", service.name(), service.live());
      out().println("  force: " + force(service));
      out().printf(Locale.ROOT, "  %-40s %-7s %12s  %-4s %s%n", "instance", "serving", "heartbeat", "live", "phase");
      for (SwitchStatus.Instance i : service.instances()) {
        out().printf(Locale.ROOT, "  %-40s %-7s %12s  %-4s %s%n", i.name(), i.serving(), heartbeat(i.heartbeatAgeMillis()),
            i.live() ? "yes" : "no", i.phase());
      }
      SwitchStatus.Switch sw = service.currentSwitch();
      if (sw == null) {
        out().println("  no switch recorded");
        continue;
      }
      out().printf(Locale.ROOT, "  %s switch %s: %s -> %s, %s%s (recorded on %s at %s)%n", sw.inProgress() ? "current" : "last",
          sw.id(), sw.source(), sw.target(), sw.state().toUpperCase(Locale.ROOT),
          sw.reason() == null ? "" : ": " + sw.reason(), sw.recordedOn(), sw.updatedAt());
      out().println("  leader: " + (sw.leader() == null ? (sw.inProgress() ? "none holds the lock right now" : "-")
          : "backend " + sw.leader().pid() + (sw.leader().client() == null ? "" : " from " + sw.leader().client())
              + (sw.leader().applicationName() == null || sw.leader().applicationName().isEmpty() ? ""
                  : " (" + sw.leader().applicationName() + ")")));
      if (sw.leader() != null && sw.leader().stalled() != null) {
        out().println("  STALLED: the leader, " + sw.leader().stalled() + ", holds the switch's lock behind the fence on "
            + sw.recordedOn() + ", which refuses the service's writes until it comes back or its session ends; end it"
            + " with cutover-replicator switch-abort --service " + service.name() + " (as the instances' role,"
            + " a member of pg_signal_backend or a superuser): the switch is not released, so ending it splits nothing");
      }
    }
  }

  /** A heartbeat's age; one stamped in the future (the server's clock stepped back since) says how far ahead. */
  private static String heartbeat(long ageMillis) {
    return ageMillis < 0 ? Units.millis(-ageMillis) + " ahead" : Units.millis(ageMillis) + " ago";
  }

  /** The force setting on each side, and what it means when either forces (switch-force). */
  private static String force(SwitchStatus.Service service) {
    String sides = force(service.forced().get("old")) + " on old, " + force(service.forced().get("new")) + " on new";
    return !service.forcedAnywhere() ? sides : sides + ": its next switches go without the replication proof, writes not yet"
        + " replicated stay behind (`cutover-replicator switch-force --service " + Quoting.shellWord(service.name()) + " off` requires it again)";
  }

  private static String force(Boolean forced) {
    return forced == null ? "-" : forced ? "ON" : "off";
  }

  private static String version(Integer v) {
    return v == null ? "absent" : "version " + v;
  }

  private static String fence(Boolean raised) {
    return raised == null ? "-" : raised ? "RAISED" : "down";
  }
}
