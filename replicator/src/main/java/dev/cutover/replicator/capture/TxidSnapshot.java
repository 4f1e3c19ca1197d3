package dev.cutover.replicator.capture;

import java.util.ArrayList;
import java.util.List;

/**
 * A {@code txid_current_snapshot()} of a source: {@code xmin:xmax:xip,...}. A transaction is
 * visible in it (committed before it was taken) when its txid is below {@code xmin}, or below
 * {@code xmax} and not in progress ({@code xip}).
 *
 * @param text the snapshot as the server prints it, stored and passed back as is
 * @param xmin the oldest transaction still running
 * @param xmax one past the newest transaction started
 * @param xip the transactions running at the time, between xmin and xmax
 */
public record TxidSnapshot(String text, long xmin, long xmax, List<Long> xip) {

  /** Parses {@code xmin:xmax:xip1,xip2}. */
  public static TxidSnapshot parse(String text) {
    String[] parts = text.split(":", -1);
    if (parts.length != 3) {
      throw new IllegalArgumentException("not a txid_snapshot: '" + text + "'");
    }
    List<Long> xip = new ArrayList<>();
    if (!parts[2].isEmpty()) {
      for (String x : parts[2].split(",")) {
        xip.add(Long.parseLong(x));
      }
    }
    return new TxidSnapshot(text, Long.parseLong(parts[0]), Long.parseLong(parts[1]), List.copyOf(xip));
  }

  /** The same as {@code txid_visible_in_snapshot(txid, this)}. */
  public boolean visible(long txid) {
    return txid < xmin || txid < xmax && !xip.contains(txid);
  }

  /**
   * Whether this snapshot of a server was taken before {@code later}, one of the same server: a
   * transaction began after this one ({@code later}'s xmax is higher), or one running here has
   * ended there. Snapshots only move forward, so a snapshot taken at the same time or after this
   * one is never judged before it.
   */
  public boolean before(TxidSnapshot later) {
    return later.xmax > xmax || xip.stream().anyMatch(later::visible);
  }

  @Override
  public String toString() {
    return text;
  }
}
