package dev.cutover.replicator.copy;

import dev.cutover.replicator.sql.TableName;

/**
 * Hears what {@code start} is doing. Methods are called from worker threads, concurrently; they
 * must return quickly. Row and byte counts are read from {@link CopyProgress} instead, by
 * polling.
 */
public interface CopyListener {
  /** Listens to nothing. */
  CopyListener NONE = new CopyListener() {};

  /** A phase begins: {@code copy}, {@code indexes}, {@code subscription}. */
  default void phase(String phase, CopyProgress progress) {}

  /** A worker is about to copy one chunk of a table (a worker's snapshot is already imported). */
  default void chunkStarting(TableName table, int chunk, int chunks) {}

  /** Every chunk of a table has been copied. */
  default void tableCopied(CopyProgress.TableProgress table) {}

  /** An index or constraint was built. */
  default void indexBuilt(TableName table, String index, long millis) {}
}
