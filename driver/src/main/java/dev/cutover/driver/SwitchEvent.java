package dev.cutover.driver;

import dev.cutover.flags.Target;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * One switch, as it ended: what moved, what it cost and what was not guaranteed.
 *
 * @param service the service whose traffic switched
 * @param instance the instance (router) this event is about
 * @param id the switch's id, shared by every instance of the service
 * @param from the side that served before
 * @param to the side the flag asked for
 * @param outcome completed or aborted
 * @param reason why it aborted; empty when completed
 * @param leader whether this instance led the switch (fenced, wrote the barrier, moved sequences)
 * @param gateWaits transactions that waited at the gate
 * @param gateWaitMax the longest wait of any transaction
 * @param gateWaitP99 the 99th percentile of those waits
 * @param drain time until in-flight transactions ended (or were rolled back)
 * @param coordinate time waiting for the service's other instances to drain (or for the leader)
 * @param fence time to fence the source, waiting for writers that began before it
 * @param barrier time until the marker was seen on the target
 * @param sequences time to move the target's sequences
 * @param total gate closed to gate opened
 * @param rolledBack transactions that outlived the drain and were rolled back with 40001
 * @param sequencesMoved sequences moved on the target
 * @param prewarmed physical connections opened to the target before release
 * @param notGuaranteed invariants this switch could not enforce (for example without a control schema)
 * @param at when it ended
 */
public record SwitchEvent(
    String service,
    String instance,
    String id,
    Target from,
    Target to,
    Outcome outcome,
    String reason,
    boolean leader,
    long gateWaits,
    Duration gateWaitMax,
    Duration gateWaitP99,
    Duration drain,
    Duration coordinate,
    Duration fence,
    Duration barrier,
    Duration sequences,
    Duration total,
    int rolledBack,
    int sequencesMoved,
    int prewarmed,
    List<String> notGuaranteed,
    Instant at) {

  /** One line for logs and the MBean. */
  public String summary() {
    return String.format(
        "switch %s/%s %s %s -> %s %s%s in %d ms (%s; gate waits %d, max %.1f ms, p99 %.1f ms; drain %d ms,"
            + " coordinate %d ms, fence %d ms, barrier %d ms, sequences %d ms; rolled back %d, sequences moved %d,"
            + " prewarmed %d)%s",
        service, instance, id, from.value(), to.value(), outcome.name().toLowerCase(java.util.Locale.ROOT),
        reason.isEmpty() ? "" : " (" + reason + ")", total.toMillis(), leader ? "leader" : "follower", gateWaits,
        gateWaitMax.toNanos() / 1e6, gateWaitP99.toNanos() / 1e6, drain.toMillis(), coordinate.toMillis(),
        fence.toMillis(), barrier.toMillis(), sequences.toMillis(),
        rolledBack, sequencesMoved, prewarmed, notGuaranteed.isEmpty() ? "" : "; not guaranteed: " + notGuaranteed);
  }
}
