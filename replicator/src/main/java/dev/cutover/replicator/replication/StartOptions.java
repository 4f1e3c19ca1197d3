package dev.cutover.replicator.replication;

import dev.cutover.replicator.capture.Capture;
import java.time.Duration;

/**
 * How {@code start} copies.
 *
 * @param jobs parallel copy and index-build workers; each holds a connection to each side
 * @param chunkBytes tables larger than this on old are copied in parallel chunks of about this size;
 *     {@link #AUTO_CHUNKS} for whole tables with two jobs or fewer, else {@link #DEFAULT_CHUNK_BYTES}
 * @param binary whether binary COPY may be used where both sides' column types allow it
 * @param deferIndexes whether to set primary keys and indexes aside during the copy and build them after
 * @param maintenanceWorkMem {@code maintenance_work_mem} for the index builds on new, e.g. {@code 256MB}
 * @param keyless what to do with published tables that have no replica identity
 * @param resume whether to continue an interrupted start (see {@code ResumedStart}) instead of beginning one
 * @param capture which engine: logical replication, trigger capture, or the one the databases allow
 * @param slotWait how long creating the replication slot on old may wait for transactions running on
 *     old's server to end (see {@link SlotCreation}); then start gives up, naming them
 */
public record StartOptions(int jobs, long chunkBytes, boolean binary, boolean deferIndexes, String maintenanceWorkMem,
    KeylessTables keyless, boolean resume, Capture capture, Duration slotWait) {
  /** The default {@link #slotWait}. */
  public static final Duration SLOT_WAIT = Duration.ofMinutes(2);
  public static final long DEFAULT_CHUNK_BYTES = 256L * 1024 * 1024;
  /** {@code chunkBytes} that lets the number of jobs decide, see {@link #splitBytes()}. */
  public static final long AUTO_CHUNKS = 0;

  public StartOptions {
    if (jobs < 1 || jobs > 64) {
      throw new IllegalArgumentException("jobs must be between 1 and 64, not " + jobs);
    }
    if (chunkBytes != AUTO_CHUNKS && chunkBytes < 8192) {
      throw new IllegalArgumentException("chunk size must be at least 8192 bytes, not " + chunkBytes);
    }
    if (maintenanceWorkMem == null || !maintenanceWorkMem.matches("\\d+\\s*(kB|MB|GB)?")) {
      throw new IllegalArgumentException("maintenance_work_mem must look like 256MB, not '" + maintenanceWorkMem + "'");
    }
    java.util.Objects.requireNonNull(keyless, "keyless");
    java.util.Objects.requireNonNull(capture, "capture");
    if (slotWait == null || slotWait.isNegative() || slotWait.isZero()) {
      throw new IllegalArgumentException("the slot wait must be positive, not " + slotWait);
    }
  }

  /** Options with the default {@link #SLOT_WAIT}. */
  public StartOptions(int jobs, long chunkBytes, boolean binary, boolean deferIndexes, String maintenanceWorkMem,
      KeylessTables keyless, boolean resume, Capture capture) {
    this(jobs, chunkBytes, binary, deferIndexes, maintenanceWorkMem, keyless, resume, capture, SLOT_WAIT);
  }

  /** Options with the engine chosen by the databases ({@link Capture#AUTO}). */
  public StartOptions(int jobs, long chunkBytes, boolean binary, boolean deferIndexes, String maintenanceWorkMem,
      KeylessTables keyless, boolean resume) {
    this(jobs, chunkBytes, binary, deferIndexes, maintenanceWorkMem, keyless, resume, Capture.AUTO, SLOT_WAIT);
  }

  /**
   * One worker per core (at least two), chunks by the number of jobs, binary where possible,
   * indexes deferred, tables without replica identity refused, a new start.
   */
  public static StartOptions defaults() {
    return new StartOptions(Math.max(2, Runtime.getRuntime().availableProcessors()), AUTO_CHUNKS, true, true, "256MB",
        KeylessTables.REFUSE, false, Capture.AUTO, SLOT_WAIT);
  }

  /**
   * Tables larger than this are split into parallel chunks. Left to the jobs, two or fewer copy
   * whole tables: then every table goes in one stream with COPY FREEZE, and on two cores two
   * streams into one table measured no faster than one frozen stream, while they leave the rows
   * unfrozen and the heap interleaved, which costs the index builds after about a fifth more.
   */
  public long splitBytes() {
    if (chunkBytes != AUTO_CHUNKS) {
      return chunkBytes;
    }
    return jobs <= 2 ? Long.MAX_VALUE : DEFAULT_CHUNK_BYTES;
  }

  public StartOptions withJobs(int n) {
    return new StartOptions(n, chunkBytes, binary, deferIndexes, maintenanceWorkMem, keyless, resume, capture, slotWait);
  }

  public StartOptions withChunkBytes(long n) {
    return new StartOptions(jobs, n, binary, deferIndexes, maintenanceWorkMem, keyless, resume, capture, slotWait);
  }

  public StartOptions withBinary(boolean b) {
    return new StartOptions(jobs, chunkBytes, b, deferIndexes, maintenanceWorkMem, keyless, resume, capture, slotWait);
  }

  public StartOptions withDeferIndexes(boolean b) {
    return new StartOptions(jobs, chunkBytes, binary, b, maintenanceWorkMem, keyless, resume, capture, slotWait);
  }

  public StartOptions withKeyless(KeylessTables k) {
    return new StartOptions(jobs, chunkBytes, binary, deferIndexes, maintenanceWorkMem, k, resume, capture, slotWait);
  }

  public StartOptions withResume(boolean r) {
    return new StartOptions(jobs, chunkBytes, binary, deferIndexes, maintenanceWorkMem, keyless, r, capture, slotWait);
  }

  public StartOptions withSlotWait(Duration d) {
    return new StartOptions(jobs, chunkBytes, binary, deferIndexes, maintenanceWorkMem, keyless, resume, capture, d);
  }

  public StartOptions withCapture(Capture c) {
    return new StartOptions(jobs, chunkBytes, binary, deferIndexes, maintenanceWorkMem, keyless, resume, c, slotWait);
  }
}
