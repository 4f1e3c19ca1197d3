package dev.cutover.sample;

import dev.cutover.flags.Target;
import java.util.List;

/**
 * What the databases hold after the load stopped, compared with what the application was told.
 *
 * @param serving the side that served at the end
 * @param acknowledged bookings the application saw commit
 * @param missing acknowledged bookings absent from the serving side, or present with other values
 *     or without their payment (I1)
 * @param missingSamples a few of them, for the report
 * @param duplicatesAcknowledged house-and-day pairs acknowledged to more than one booking
 * @param duplicatesStored house-and-day pairs held twice on the serving side
 * @param caughtUp whether the other side caught up with the serving one
 * @param tables row count and checksum of every table on both sides
 * @param note why catching up failed, or empty
 */
record Verification(Target serving, int acknowledged, int missing, List<String> missingSamples,
    int duplicatesAcknowledged, int duplicatesStored, boolean caughtUp, List<TableComparison> tables, String note) {

  /** One table on both sides. */
  record TableComparison(String table, long oldRows, long newRows, boolean same) {}

  boolean tablesMatch() {
    return caughtUp && tables.stream().allMatch(TableComparison::same);
  }
}
