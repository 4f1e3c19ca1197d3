package dev.cutover.replicator.operator;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the control schema on both databases says about each service's switches: its live
 * instances, the fence on each side, whether an operator forced its next switches, and its current
 * or last switch. The operator's view
 * ({@code cutover-replicator switch-status}); {@link SwitchStatusReader} reads it.
 *
 * @param controlSchema the control schema's version by side, {@code old} and {@code new} ({@code null}: not installed)
 * @param fence whether each side is fenced, by side ({@code null} without a control schema)
 * @param services each service found on either side, by name
 */
public record SwitchStatus(Map<String, Integer> controlSchema, Map<String, Boolean> fence, List<Service> services) {

  /** {@code old} and {@code new}, in that order; values may be null. */
  static <T> Map<String, T> sides(T old, T nw) {
    Map<String, T> sides = new LinkedHashMap<>();
    sides.put("old", old);
    sides.put("new", nw);
    return java.util.Collections.unmodifiableMap(sides);
  }

  /**
   * One service.
   *
   * @param forced whether its next switches from each side go without the replication proof
   *     ({@code switch-force}), by side, {@code old} and {@code new} ({@code null} without a control schema)
   * @param instances every instance that heartbeats on either side, newest heartbeat first
   * @param currentSwitch the service's latest switch on either side, or null when it never switched
   */
  public record Service(String name, Map<String, Boolean> forced, List<Instance> instances, Switch currentSwitch) {
    /** Whether either side forces its next switch. */
    public boolean forcedAnywhere() {
      return forced.values().stream().anyMatch(Boolean.TRUE::equals);
    }

    /** Instances whose heartbeat is recent enough that a switch waits for them. */
    public long live() {
      return instances.stream().filter(Instance::live).count();
    }
  }

  /**
   * One instance, as it last heartbeat: an instance heartbeats on the database that serves it, so
   * {@code serving} is the side whose control schema holds its freshest heartbeat.
   *
   * @param heartbeatAgeMillis how long ago it last heartbeat there, by that server's clock; negative
   *     when stamped in the future (the clock stepped back since)
   * @param live whether that is within the time after which a switch goes on without it (5 s); never
   *     for a heartbeat stamped in the future, which a live instance rewrites within a second
   * @param phase {@code ready} (connections to the target open, gate about to close) or {@code
   *     drained} (no transaction in flight, waiting for the leader) for the current switch; else
   *     {@code idle}
   */
  public record Instance(String name, String serving, long heartbeatAgeMillis, boolean live, String phase) {}

  /**
   * A switch as the control schema of the side it started from records it.
   *
   * @param recordedOn the side whose control schema holds it (its source)
   * @param state {@code draining} (in progress), {@code released} (completed) or {@code aborted}
   * @param leader the session leading it now, when one holds the leader's lock; else null
   */
  public record Switch(String id, String recordedOn, String source, String target, String state, String reason,
      Instant updatedAt, Leader leader) {
    public boolean inProgress() {
      return "draining".equals(state);
    }
  }

  /**
   * The backend that holds a service's leader lock: the leading instance's control session.
   *
   * @param stalled when the leader stalled behind its fence ({@code OperatorControl.stalledLeader}:
   *     the switch not released, its instance without a heartbeat for over 5 s), which instance,
   *     backend and heartbeat age; else null
   */
  public record Leader(int pid, String applicationName, String client, String stalled) {}
}
