package dev.cutover.replicator.status;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * Replication between old and new at one moment: one entry per direction that exists.
 *
 * @param at when it was read
 * @param directions {@code forward} (old → new) and, once armed, {@code reverse} (new → old)
 */
public record StatusReport(Instant at, List<Direction> directions) {

  /** The forward direction, or null. */
  public Direction forward() {
    return direction("forward");
  }

  /** The reverse direction, or null. */
  public Direction reverse() {
    return direction("reverse");
  }

  private Direction direction(String name) {
    return directions.stream().filter(d -> d.name().equals(name)).findFirst().orElse(null);
  }

  /**
   * One direction of replication.
   *
   * @param name {@code forward} or {@code reverse}
   * @param source {@code old} or {@code new}: where the publication and the slot are
   * @param state one word: {@code streaming}, {@code catching-up}, {@code stopped}, {@code broken}, or {@code prepared}
   *     (a way back whose slot the switch made, waiting for {@code reverse})
   * @param subscriptionEnabled whether the subscription is enabled
   * @param applyWorkerRunning whether an apply worker runs for it on the target
   * @param tables per table: {@code ready}, {@code init}, {@code data-copy}, {@code finished-copy}, {@code synchronized}
   * @param slot the slot on the source, or null when missing
   * @param lagBytes WAL on the source not yet confirmed by the target, or null when unknown
   * @param heartbeatLagMillis how much older the newest beat on the target is than the newest on
   *     the source (both by the source's clock), or null without beats
   * @param lastBeatAgeMillis age of the newest beat on the source: above a few seconds no writer runs
   * @param applyErrors apply errors since the statistics were reset (15+), or null
   * @param syncErrors table-sync errors (15+), or null
   * @param conflicts conflict counters by kind (18+), empty before
   * @param problems what is wrong, one sentence each with what to do
   */
  public record Direction(String name, String source, String state, boolean subscriptionEnabled, boolean applyWorkerRunning,
      Map<String, String> tables, Slot slot, Long lagBytes, Long heartbeatLagMillis, Long lastBeatAgeMillis,
      Long applyErrors, Long syncErrors, Map<String, Long> conflicts, List<String> problems) {}

  /**
   * A replication slot's health.
   *
   * @param name the slot
   * @param active whether a walsender holds it
   * @param walStatus {@code reserved}, {@code extended}, {@code unreserved} or {@code lost} (13+), else null
   * @param safeWalSizeBytes WAL that can still be written before the slot is at risk (13+, with max_slot_wal_keep_size), else null
   * @param confirmedFlushLsn what the target confirmed
   * @param currentLsn the source's current WAL position
   */
  public record Slot(String name, boolean active, String walStatus, Long safeWalSizeBytes, String confirmedFlushLsn, String currentLsn) {}
}
