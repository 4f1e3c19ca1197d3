package dev.cutover.replicator.cli;

import dev.cutover.replicator.Failure;
import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.operator.SwitchControl;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "switch-force", mixinStandardHelpOptions = true,
    description = {"Lets a service's next switches go without proof that replication caught up (no probe, no barrier), or stops that.",
        "What cutover.switch.force=true does, without a redeploy; the fence is raised either way and each switch event"
            + " lists what was not guaranteed. Set on both sides. Only the control schema's installer may (exit 4 otherwise)."
            + " A name neither side knows (no instance, switch or force setting) is refused (exit 5), unless --not-started"
            + " with on; off is set only where the name is known (cutover.set_force refuses it elsewhere)."})
final class SwitchForceCommand extends BaseCommand {
  @Option(names = "--service", paramLabel = "NAME", required = true, description = "The service, as switch-status lists it.")
  String service;

  @Option(names = "--not-started", description = "The service has no instance yet (none has run with the Cutover driver"
      + " since the control schema was installed): set it although neither side knows the name.")
  boolean notStarted;

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
    // The driver reads cutover.service stripped ("booking " is the service booking): a force stored
    // under the unstripped name never applied, and was reported as set (r26).
    if (service.isBlank()) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--service is blank: give the service's name, as"
          + " `cutover-replicator switch-status` lists it");
    }
    if (!service.equals(service.strip())) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--service '" + service + "' has white space at its"
          + " ends, which the driver strips from cutover.service (it names this service as '" + service.strip() + "'), so a"
          + " force set under this name would never apply: give --service " + service.strip());
    }
    Duration networkTimeout = network.get();
    boolean onOld = true;
    boolean onNew = true;
    if (!notStarted || !force) {
      // A mistyped name was set and reported as done while the real service kept its force (r15).
      List<String> knownOld = SwitchControl.services(r.old(), networkTimeout);
      List<String> knownNew = SwitchControl.services(r.nw(), networkTimeout);
      TreeSet<String> known = new TreeSet<>(knownOld);
      known.addAll(knownNew);
      if (!known.contains(service)) {
        throw new ReplicatorException(Failure.PRECONDITION, "no service " + service + " on old or new (known: "
            + (known.isEmpty() ? "none" : String.join(", ", known)) + "): neither control schema has an instance, a switch"
            + " or a force setting of it, so nothing was changed",
            force ? "check the name (case matters; `cutover-replicator switch-status` lists the services); for a service whose"
                + " instances have not started yet, add --not-started"
                : "check the name (case matters; `cutover-replicator switch-status` lists the services): a service neither"
                    + " side names has nothing forced to turn off");
      }
      if (!force) {
        // cutover.set_force refuses off for a name its side knows nothing of: nothing is forced there.
        onOld = knownOld.contains(service);
        onNew = knownNew.contains(service);
      }
    }
    if (onOld) {
      SwitchControl.force(r.old(), service, force, networkTimeout);
    }
    if (onNew) {
      SwitchControl.force(r.nw(), service, force, networkTimeout);
    }
    print(Map.of("service", service, "force", force), () -> out().println(force
        ? "the next switches of " + service + " go without the replication proof: writes not yet replicated stay behind"
        : "the next switches of " + service + " require the replication proof again"));
    return 0;
  }
}
