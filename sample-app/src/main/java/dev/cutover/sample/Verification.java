package dev.cutover.sample;

import dev.cutover.flags.Target;
import java.util.List;
import java.util.Locale;

/**
 * What the databases hold after the load stopped, compared with what the application was told,
 * and the replicator's comparison of old and new.
 *
 * @param serving the side that served at the end
 * @param acknowledged bookings the application saw commit
 * @param missing acknowledged bookings absent from the serving side, or present with other values
 *     or without their payment (I1)
 * @param missingSamples a few of them, for the report
 * @param duplicatesAcknowledged house-and-day pairs acknowledged to more than one booking
 * @param duplicatesStored house-and-day pairs held twice on the serving side
 * @param caughtUp whether the other side caught up with the serving one
 * @param replicated the replicator's verify, or null when it could not run
 * @param note why catching up or the replicator's verify failed, or empty
 */
record Verification(Target serving, int acknowledged, int missing, List<String> missingSamples,
    int duplicatesAcknowledged, int duplicatesStored, boolean caughtUp, Replicated replicated, String note) {

  /**
   * The replicator's verify: every replicated table compared by key ranges and checksums, every
   * difference rechecked after replication had passed it.
   *
   * @param direction {@code old -> new} or {@code new -> old}: source and target of the comparison
   * @param rows rows compared (source side)
   * @param millis time taken
   * @param differences rows that still differ after the rechecks
   * @param inFlight differences found at first that replication resolved by the recheck
   * @param rechecked whether differences were rechecked
   * @param note why they were not, or empty
   * @param tables per table
   * @param uncarried the source's tables verify did not compare because replication does not carry
   *     them: their rows on the target may be missing or stale, whatever {@code differences} says
   * @param carry how to have them carried, or empty
   */
  record Replicated(String direction, long rows, long millis, long differences, long inFlight, boolean rechecked, String note,
      List<TableResult> tables, List<String> uncarried, String carry) {

    /**
     * "old -> new: N rows compared in M ms, K difference(s)", as the rehearsal's progress and its
     * table say it, with the tables not compared where there are any: the count alone read as all
     * clear while verify had left tables out.
     */
    String summary() {
      return String.format(Locale.ROOT, "%s: %d rows compared in %d ms, %d difference(s)%s%s", direction, rows, millis,
          differences, inFlight > 0 ? " (" + inFlight + " in flight, resolved by the recheck)" : "",
          uncarried.isEmpty() ? "" : ", " + uncarried.size() + " table(s) not compared: " + String.join(", ", uncarried));
    }
  }

  /**
   * One table as the replicator compared it.
   *
   * @param table {@code schema.name}
   * @param oldRows rows on old
   * @param newRows rows on new
   * @param differences rows that differ
   * @param examples the first differing rows, as {@code kind key}
   */
  record TableResult(String table, long oldRows, long newRows, long differences, List<String> examples) {}

  /**
   * Whether old and new hold the same rows: caught up, and the replicator's verify compared every
   * table and found no difference (with both directions armed, catching up waits for a marker
   * alone, which says nothing of the tables replication does not carry).
   */
  boolean tablesMatch() {
    return caughtUp && replicated != null && replicated.differences() == 0 && replicated.uncarried().isEmpty();
  }

  /** The invariant {@link #tablesMatch} decides, naming the tables verify did not compare. */
  Report.Check tablesCheck() {
    String value = replicated == null ? "not run" : replicated.differences() + (replicated.uncarried().isEmpty() ? ""
        : "; " + replicated.uncarried().size() + " table(s) not compared, as replication does not carry them: "
            + String.join(", ", replicated.uncarried()));
    return new Report.Check("rows that differ between old and new (replicator verify)", value, tablesMatch());
  }
}
