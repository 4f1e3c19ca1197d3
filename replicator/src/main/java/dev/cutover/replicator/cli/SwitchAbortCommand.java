package dev.cutover.replicator.cli;

import dev.cutover.common.Quoting;
import dev.cutover.driver.control.OperatorControl.AbortOutcome;
import dev.cutover.driver.control.OperatorControl.StalledLeader;
import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.Failure;
import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.operator.SwitchControl;
import dev.cutover.replicator.operator.SwitchStatus;
import dev.cutover.replicator.operator.SwitchStatusReader;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "switch-abort", mixinStandardHelpOptions = true,
    description = {"Aborts a service's switch in progress: its leader lowers the fence and every instance stays where it was.",
        "Goes through the control plane's own abort, so only roles granted the control plane may (exit 4 otherwise)."})
final class SwitchAbortCommand extends BaseCommand {
  @Option(names = "--service", paramLabel = "NAME", required = true, description = "The service whose switch to abort.")
  String service;

  @Option(names = "--reason", paramLabel = "TEXT", defaultValue = "aborted by an operator (cutover-replicator switch-abort)",
      description = "Why; it goes into every instance's switch event (default: ${DEFAULT-VALUE}).")
  String reason;

  @Mixin
  NetworkTimeoutOption network;

  @Override
  int run(Replicator r) throws Exception {
    Duration networkTimeout = network.get();
    SwitchStatus status = SwitchStatusReader.read(r.old(), r.nw(), List.of(service), networkTimeout, "--network-timeout");
    SwitchStatus.Switch current = status.services().isEmpty() ? null : status.services().get(0).currentSwitch();
    boolean onOld = current != null && current.recordedOn().equals(Side.OLD.label());
    if (current != null && current.inProgress()) {
      refuseIfPastItsBarrier(onOld ? r.old() : r.nw(), onOld ? r.nw() : r.old(), networkTimeout);
    }
    Endpoint source = onOld ? r.old() : r.nw();
    Optional<StalledLeader> stalled = current == null || !current.inProgress() ? Optional.empty()
        : SwitchControl.stalledLeader(source, service, networkTimeout);
    AbortOutcome outcome = current == null || !current.inProgress() ? AbortOutcome.NONE
        : SwitchControl.abort(source, service, reason, networkTimeout);
    String leader = stalled.map(StalledLeader::describe).orElse("its leader");
    if (outcome == AbortOutcome.LEADER_STALLED) {
      throw new ReplicatorException(Failure.PRIVILEGE, "the abort of " + service + "'s switch is requested, but its"
          + " leader, " + leader + ", stalled behind the fence on " + source.side().label() + " (a frozen process or a"
          + " silent link) and this role may not end its session: nothing aborts the switch until that session ends or"
          + " the leader comes back, and " + source.side().label() + " refuses the service's writes meanwhile",
          stalled.map(s -> s.remedy(service)).orElse("end the session of cutover.switch_leader_pid('" + service
              + "') as the instances' role or a superuser"));
    }
    print(Map.of("service", service, "outcome", outcome.name().toLowerCase(Locale.ROOT)), () -> out().println(switch (outcome) {
      case NONE -> "no switch of " + service + " is in progress";
      case RELEASED -> "the switch of " + service + " was released already; the decision stands";
      case ABORTED -> "the switch of " + service + " is aborted and its fence lowered";
      case REQUESTED -> "abort of " + service + "'s switch requested: its leader aborts at its next step";
      case LEADER_ENDED -> "the leader of " + service + "'s switch, " + leader + ", had stalled behind the fence: its"
          + " session was ended, the switch is aborted and its fence lowered";
      case LEADER_STALLED -> throw new IllegalStateException("refused above");
    }));
    return 0;
  }

  /**
   * Refuses to abort a switch nobody leads whose barrier marker is on its target already: the switch
   * got past its barrier, and a primary of its source that is gone may have released it (the target
   * then serves, and took writes); its source, back from a standby that missed the release, still
   * says draining. Aborting would lower the fence and let the service write on a side left behind.
   */
  private void refuseIfPastItsBarrier(Endpoint source, Endpoint target, Duration networkTimeout) throws Exception {
    String from = source.side().label();
    String to = target.side().label();
    var marker = SwitchControl.barrierPassed(source, target, service, networkTimeout);
    if (marker.isPresent()) {
      throw new ReplicatorException(Failure.PRECONDITION, "the switch of " + service + " recorded on " + from
          + " is draining with no leader, but " + to + " holds its barrier marker " + marker.get() + ": the switch got"
          + " past its barrier, and " + from + " may have come back from a standby (a failover) that missed its release,"
          + " while " + to + " serves and took writes; its fence is not lowered",
          "finish the switch to " + to + " (cutover-replicator switch-force --service " + Quoting.shellWord(service) + " on, with the flag"
          + " at " + to + ", so that an instance takes it over without the probe), or, once you have verified by hand"
          + " that nothing was written on " + to + " since, lower the fence on " + from + " as the installer"
          + " (SELECT cutover.lower_fence())");
    }
  }
}
