package dev.cutover.replicator.copy;

import dev.cutover.replicator.sql.TableName;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Live counters of an initial copy, per table: rows, bytes, chunks, rate and ETA. Safe to read
 * from any thread while the copy runs.
 */
public final class CopyProgress {
  private final Map<TableName, TableProgress> tables = new ConcurrentHashMap<>();
  private final List<TableName> order = Collections.synchronizedList(new ArrayList<>());
  private final AtomicLong indexesTotal = new AtomicLong();
  private final AtomicLong indexesBuilt = new AtomicLong();
  private final long startedNanos = System.nanoTime();

  TableProgress add(TableName table, long estimatedRows, long estimatedBytes, int chunks, boolean binary, boolean frozen) {
    TableProgress t = new TableProgress(table, estimatedRows, estimatedBytes, chunks, binary, frozen);
    tables.put(table, t);
    order.add(table);
    return t;
  }

  TableProgress get(TableName table) {
    return tables.get(table);
  }

  /** How many indexes the build phase will create. */
  public void indexesPlanned(int n) {
    indexesTotal.set(n);
  }

  /** One more index built. */
  public void indexBuilt() {
    indexesBuilt.incrementAndGet();
  }

  public long indexesTotal() {
    return indexesTotal.get();
  }

  public long indexesBuilt() {
    return indexesBuilt.get();
  }

  /** Every table, in plan order (largest first). */
  public List<TableProgress> tables() {
    synchronized (order) {
      List<TableProgress> out = new ArrayList<>(order.size());
      for (TableName t : order) {
        out.add(tables.get(t));
      }
      return out;
    }
  }

  public long rows() {
    return tables.values().stream().mapToLong(TableProgress::rows).sum();
  }

  public long bytes() {
    return tables.values().stream().mapToLong(TableProgress::bytes).sum();
  }

  public Duration elapsed() {
    return Duration.ofNanos(System.nanoTime() - startedNanos);
  }

  /** One table's counters. */
  public static final class TableProgress {
    private final TableName table;
    private final long estimatedRows;
    private final long estimatedBytes;
    private final int chunks;
    private final boolean binary;
    private final boolean frozen;
    private final AtomicLong rows = new AtomicLong();
    private final AtomicLong bytes = new AtomicLong();
    private final AtomicInteger chunksDone = new AtomicInteger();
    private final AtomicLong firstStart = new AtomicLong();
    private final AtomicLong finished = new AtomicLong();

    TableProgress(TableName table, long estimatedRows, long estimatedBytes, int chunks, boolean binary, boolean frozen) {
      this.table = table;
      this.estimatedRows = estimatedRows;
      this.estimatedBytes = estimatedBytes;
      this.chunks = chunks;
      this.binary = binary;
      this.frozen = frozen;
    }

    void started() {
      firstStart.compareAndSet(0, System.nanoTime());
    }

    void add(long rowDelta, long byteDelta) {
      rows.addAndGet(rowDelta);
      bytes.addAndGet(byteDelta);
    }

    /** Marks a chunk done; returns whether it was the last. */
    boolean chunkDone() {
      boolean last = chunksDone.incrementAndGet() == chunks;
      if (last) {
        finished.set(System.nanoTime());
      }
      return last;
    }

    public TableName table() {
      return table;
    }

    /** {@code reltuples} on old: an estimate, -1 when the table was never analyzed. */
    public long estimatedRows() {
      return estimatedRows;
    }

    /** Heap size on old. */
    public long estimatedBytes() {
      return estimatedBytes;
    }

    public long rows() {
      return rows.get();
    }

    /** COPY stream bytes moved so far. */
    public long bytes() {
      return bytes.get();
    }

    public int chunks() {
      return chunks;
    }

    public int chunksDone() {
      return chunksDone.get();
    }

    public boolean binary() {
      return binary;
    }

    /** Whether the rows went in with COPY FREEZE. */
    public boolean frozen() {
      return frozen;
    }

    public boolean done() {
      return finished.get() != 0;
    }

    public boolean startedYet() {
      return firstStart.get() != 0;
    }

    /** Time spent from the first chunk's start to the last chunk's end (or now). */
    public Duration elapsed() {
      long start = firstStart.get();
      if (start == 0) {
        return Duration.ZERO;
      }
      long end = finished.get();
      return Duration.ofNanos((end == 0 ? System.nanoTime() : end) - start);
    }

    /** Rows per second so far. */
    public double rowsPerSecond() {
      double s = elapsed().toNanos() / 1e9;
      return s <= 0 ? 0 : rows() / s;
    }

    /** Stream bytes per second so far. */
    public double bytesPerSecond() {
      double s = elapsed().toNanos() / 1e9;
      return s <= 0 ? 0 : bytes() / s;
    }

    /** Remaining time at the current rate, from the row estimate; null when unknown. */
    public Duration eta() {
      if (done()) {
        return Duration.ZERO;
      }
      double rate = rowsPerSecond();
      if (estimatedRows <= 0 || rate <= 0) {
        return null;
      }
      long remaining = Math.max(0, estimatedRows - rows());
      return Duration.ofMillis((long) (remaining / rate * 1000));
    }
  }
}
