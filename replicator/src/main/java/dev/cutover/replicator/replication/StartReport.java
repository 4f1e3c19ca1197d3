package dev.cutover.replicator.replication;

import dev.cutover.replicator.capture.Capture;
import java.util.List;

/**
 * What {@code start} did.
 *
 * @param slot the replication slot on old the subscription streams from; null with trigger capture
 * @param consistentPoint where the copy's snapshot ends and replication begins: the slot's LSN, or
 *     with trigger capture the snapshot's {@code txid_current_snapshot()}
 * @param tables per table: rows and bytes copied, chunks, format, time
 * @param indexesSetAside indexes and constraints dropped on new before the copy
 * @param indexesBuilt indexes and constraints built on new after it
 * @param copyMillis the copy, until its last chunk was in
 * @param indexMillis index builds and ANALYZE still running after the copy ended (each table's
 *     start as soon as its own copy ends)
 * @param totalMillis everything, from connecting to the subscription's creation
 * @param largeObjects large objects copied from the snapshot
 * @param largeObjectBytes their bytes
 * @param materializedViews materialized views refreshed on new (those populated on old)
 * @param warnings what start copied but replication will not keep up to date (unlogged tables,
 *     large objects), one sentence each with what to do
 * @param resumed for {@code start --resume}, what it kept and copied again; else null
 * @param engine {@link Capture#LOGICAL}, {@link Capture#TRIGGERS} or {@link Capture#RELAY}
 * @param engineReason why that engine (see {@code EngineChoice.explain})
 */
public record StartReport(String slot, String consistentPoint, List<TableCopy> tables, int indexesSetAside,
    int indexesBuilt, long copyMillis, long indexMillis, long totalMillis, long largeObjects, long largeObjectBytes,
    List<String> materializedViews, List<String> warnings, Resumed resumed, Capture engine, String engineReason) {

  /** This report as that of a start whose slot {@code cutover-replicator apply} relays, for {@code reason}. */
  public StartReport relayed(String reason) {
    return new StartReport(slot, consistentPoint, tables, indexesSetAside, indexesBuilt, copyMillis, indexMillis, totalMillis,
        largeObjects, largeObjectBytes, materializedViews, warnings, resumed, Capture.RELAY, reason);
  }

  /** A start with logical replication. */
  public StartReport(String slot, String consistentPoint, List<TableCopy> tables, int indexesSetAside, int indexesBuilt,
      long copyMillis, long indexMillis, long totalMillis, long largeObjects, long largeObjectBytes, List<String> materializedViews,
      List<String> warnings, Resumed resumed) {
    this(slot, consistentPoint, tables, indexesSetAside, indexesBuilt, copyMillis, indexMillis, totalMillis, largeObjects,
        largeObjectBytes, materializedViews, warnings, resumed, Capture.LOGICAL, "logical replication");
  }

  /**
   * What {@code start --resume} kept of the interrupted start and copied again.
   *
   * @param kept tables the interrupted start had copied completely, kept as they are
   * @param keptRows their rows
   * @param keptBytes their bytes
   * @param savedMillis what copying them had taken, not spent again
   * @param copiedAgain tables copied again from a new consistent point (chunks of them the interrupted start had
   *     copied belonged to its snapshot, which died with it)
   */
  public record Resumed(List<String> kept, long keptRows, long keptBytes, long savedMillis, List<String> copiedAgain) {}

  /** One table's copy. */
  public record TableCopy(String table, long rows, long bytes, int chunks, boolean binary, boolean frozen, long millis) {}

  public long rows() {
    return tables.stream().mapToLong(TableCopy::rows).sum();
  }

  public long bytes() {
    return tables.stream().mapToLong(TableCopy::bytes).sum();
  }
}
