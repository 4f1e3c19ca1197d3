package dev.cutover.replicator.cli;

import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.operator.SwitchControl;
import java.time.Duration;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "switch-force", mixinStandardHelpOptions = true,
    description = {"Lets a service's next switches go without proof that replication caught up (no probe, no barrier), or stops that.",
        "What cutover.switch.force=true does, without a redeploy; the fence is raised either way and each switch event"
            + " lists what was not guaranteed. Set on both sides. Only the control schema's installer may (exit 4 otherwise)."})
final class SwitchForceCommand extends BaseCommand {
  @Option(names = "--service", paramLabel = "NAME", required = true, description = "The service.")
  String service;

  @Parameters(index = "0", paramLabel = "on|off", description = "on: force the next switches; off: require the proof again.")
  String mode;

  @Mixin
  NetworkTimeoutOption network;

  @Override
  int run(Replicator r) throws Exception {
    boolean force = switch (mode) {
      case "on" -> true;
      case "off" -> false;
      default -> throw new picocli.CommandLine.ParameterException(spec.commandLine(),
          "switch-force takes on or off, not '" + mode + "'");
    };
    Duration networkTimeout = network.get();
    SwitchControl.force(r.old(), service, force, networkTimeout);
    SwitchControl.force(r.nw(), service, force, networkTimeout);
    print(Map.of("service", service, "force", force), () -> out().println(force
        ? "the next switches of " + service + " go without the replication proof: writes not yet replicated stay behind"
        : "the next switches of " + service + " require the replication proof again"));
    return 0;
  }
}
