package dev.cutover.replicator.verify;

import dev.cutover.replicator.copy.LargeObjects;
import java.util.List;

/**
 * What {@code verify} found.
 *
 * @param source the side replication copies from ({@code old} while forward runs)
 * @param target the other side
 * @param tables per table
 * @param rows rows compared (source side)
 * @param millis time taken
 * @param rechecked whether differences were rechecked after replication had passed them
 * @param note why they were not, or an empty string
 * @param inFlight differences found at first that replication had resolved by the recheck
 * @param notReplicated unlogged tables, which start copied from its snapshot but replication does not
 *     carry: compared for the record, their differences are not counted in {@link #differences()}
 * @param largeObjects large objects on the source
 * @param largeObjectDifferences large objects missing, extra or different on the target (start copied
 *     them from its snapshot; {@code sync-large-objects} brings them up to date)
 * @param uncarried the source's application tables that replication does not carry (outside the
 *     publication, or without capture triggers), so not compared: verify is not clean while any is
 * @param carry how to have them carried, or an empty string when there are none
 */
public record VerifyReport(String source, String target, List<TableResult> tables, long rows, long millis, boolean rechecked,
    String note, long inFlight, List<TableResult> notReplicated, long largeObjects,
    List<LargeObjects.Difference> largeObjectDifferences, List<String> uncarried, String carry) {

  /** Rows that differ across the replicated tables and columns their targets lack, plus large objects that differ. */
  public long differences() {
    return tables.stream().mapToLong(TableResult::differenceCount).sum() + largeObjectDifferences.size();
  }

  /** Whether every application table was compared and nothing differs. */
  public boolean clean() {
    return differences() == 0 && uncarried.isEmpty();
  }

  public double rowsPerSecond() {
    return millis <= 0 ? rows : rows * 1000.0 / millis;
  }

  /**
   * One table.
   *
   * @param table {@code schema.name}
   * @param key the columns rows are compared by, empty for a table without a key (compared as a whole)
   * @param sourceRows rows on the source
   * @param targetRows rows on the target
   * @param ranges key ranges compared at the first level
   * @param differenceCount rows that differ, plus the columns the target lacks (one each)
   * @param differences the columns the target lacks ({@code column-missing-on-target}, the column's
   *     name as key), then the first rows that differ, with their keys
   * @param millis time taken
   * @param columnsMissingOnTarget columns the source has and the target lacks: their values are not
   *     on the target, so each is a difference (rows are compared over the columns both have)
   * @param columnsExtraOnTarget columns only the target has: listed, not counted, since nothing of
   *     the source's is missing (a column prepared on new ahead of the application's release, one
   *     old dropped without capture)
   */
  public record TableResult(String table, List<String> key, long sourceRows, long targetRows, int ranges, long differenceCount,
      List<Difference> differences, long millis, List<String> columnsMissingOnTarget, List<String> columnsExtraOnTarget) {}

  /**
   * A row that differs.
   *
   * @param key the row's key, e.g. {@code id=42} or {@code (a, b)=(1, x)}; the row's text for a table without a key
   * @param kind {@code missing-on-target}, {@code extra-on-target} or {@code different}; {@code
   *     table-missing-on-target} (key {@code *}) and {@code column-missing-on-target} (key: the column)
   */
  public record Difference(String key, String kind) {}
}
