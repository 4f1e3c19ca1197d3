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
   * @param subscriptionExists whether the direction's subscription exists on the target (false with
   *     trigger capture and relayed replication, which have none; and for a slot whose subscription
   *     was dropped, or not made yet: {@code prepared})
   * @param subscriptionEnabled whether the subscription is enabled (false where it does not exist)
   * @param applyWorkerRunning whether an apply worker runs for it on the target
   * @param tables per table: {@code ready}, {@code init}, {@code data-copy}, {@code finished-copy}, {@code synchronized}
   * @param slot the slot on the source, or null when missing
   * @param lagBytes WAL on the source not yet confirmed by the target, or null when unknown
   * @param heartbeatLagMillis how much older the newest beat on the target is than the newest on
   *     the source (both by the source's clock), or null without beats, and where the source's clock
   *     stepped back (a later beat no later than one that reached the target: a problem then says how
   *     many beats the target is behind)
   * @param lastBeatAgeMillis age of the newest beat on the source: above a few seconds no writer runs
   * @param applyErrors apply errors since the statistics were reset (15+), or null
   * @param syncErrors table-sync errors (15+), or null
   * @param conflicts conflict counters by kind (18+), empty before
   * @param problems what is wrong, one sentence each with what to do
   * @param capture with trigger capture, its change log and apply; null with logical replication
   * @param relay with relayed replication ({@code start --capture relay}), its apply; null otherwise
   */
  public record Direction(String name, String source, String state, boolean subscriptionExists, boolean subscriptionEnabled,
      boolean applyWorkerRunning, Map<String, String> tables, Slot slot, Long lagBytes, Long heartbeatLagMillis, Long lastBeatAgeMillis,
      Long applyErrors, Long syncErrors, Map<String, Long> conflicts, List<String> problems, Captured capture, Relayed relay) {

    /** A direction of trigger capture. */
    public Direction(String name, String source, String state, boolean subscriptionExists, boolean subscriptionEnabled,
        boolean applyWorkerRunning, Map<String, String> tables, Slot slot, Long lagBytes, Long heartbeatLagMillis, Long lastBeatAgeMillis,
        Long applyErrors, Long syncErrors, Map<String, Long> conflicts, List<String> problems, Captured capture) {
      this(name, source, state, subscriptionExists, subscriptionEnabled, applyWorkerRunning, tables, slot, lagBytes, heartbeatLagMillis,
          lastBeatAgeMillis, applyErrors, syncErrors, conflicts, problems, capture, null);
    }

    /** A direction of logical replication. */
    public Direction(String name, String source, String state, boolean subscriptionExists, boolean subscriptionEnabled,
        boolean applyWorkerRunning, Map<String, String> tables, Slot slot, Long lagBytes, Long heartbeatLagMillis, Long lastBeatAgeMillis,
        Long applyErrors, Long syncErrors, Map<String, Long> conflicts, List<String> problems) {
      this(name, source, state, subscriptionExists, subscriptionEnabled, applyWorkerRunning, tables, slot, lagBytes, heartbeatLagMillis,
          lastBeatAgeMillis, applyErrors, syncErrors, conflicts, problems, null);
    }
  }

  /**
   * A direction of relayed replication: the slot on the source is read by {@code cutover-replicator
   * apply}, which writes into the target.
   *
   * @param appliedLsn the source's WAL position up to which every transaction is applied
   * @param appliedAgeMillis how long ago (source clock) the last applied transaction committed, or
   *     the apply last found the stream caught up; null before the first batch
   * @param batches batches applied so far
   * @param changes changes applied so far
   * @param notFound UPDATEs and DELETEs that found no row on the target
   * @param applying whether an apply process holds this direction now
   */
  public record Relayed(String appliedLsn, Long appliedAgeMillis, long batches, long changes, long notFound, boolean applying) {}

  /**
   * A direction of trigger capture: its change log on the source and its apply position on the target.
   *
   * @param logRows rows in the change log (both tables): counted up to 100,000 per table, estimated past that
   * @param logRowsEstimated whether {@code logRows} is an estimate from the catalog (a table past 100,000 rows)
   * @param logBytes the change log's size with indexes
   * @param pendingRows rows of committed transactions not applied yet, counted up to 100,000 per table
   * @param morePendingRows whether more than {@code pendingRows} rows are not applied yet (a table holds more than 100,000)
   * @param logAgeMillis how long ago the oldest table of the log began to be written (0 when empty): it is trimmed
   *     once applied, so a growing age means apply is behind or stopped
   * @param appliedSnapshot the source's snapshot up to which everything is applied
   * @param appliedAgeMillis how long ago (source clock) that snapshot was taken: the lag of apply in time
   * @param batches batches applied so far
   * @param changes changes applied so far
   * @param notFound UPDATEs and DELETEs that found no row on the target
   * @param applying whether an apply process holds this direction now
   */
  public record Captured(long logRows, boolean logRowsEstimated, long logBytes, long pendingRows, boolean morePendingRows,
      long logAgeMillis, String appliedSnapshot, Long appliedAgeMillis, long batches, long changes, long notFound, boolean applying) {}

  /**
   * A replication slot's health.
   *
   * @param name the slot
   * @param active whether a walsender holds it
   * @param walStatus {@code reserved}, {@code extended}, {@code unreserved} or {@code lost} (13+), else null
   * @param safeWalSizeBytes WAL that can still be written before the slot is at risk (13+, with max_slot_wal_keep_size), else null
   * @param confirmedFlushLsn what the target confirmed
   * @param currentLsn the source's current WAL position
   * @param retainedBytes the source's WAL the slot keeps: from its {@code restart_lsn} (the oldest
   *     WAL it may still need, earlier than what the target confirmed) to the current position
   */
  public record Slot(String name, boolean active, String walStatus, Long safeWalSizeBytes, String confirmedFlushLsn, String currentLsn,
      Long retainedBytes) {}
}
