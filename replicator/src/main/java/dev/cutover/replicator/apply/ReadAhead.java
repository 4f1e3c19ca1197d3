package dev.cutover.replicator.apply;

import dev.cutover.common.Threads;
import dev.cutover.replicator.capture.ChangeLog;
import dev.cutover.replicator.capture.ChangeLog.Change;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Trigger capture's reading side: reads batch after batch from the source's change log on a
 * thread of its own and hands them to the target's writer in parts of at most {@value #PART}
 * changes through a queue of {@value #QUEUED}. While there is a backlog (a batch of at least
 * {@value #PART} changes, or one cut at a recorded tick), it reads the next batch while the target
 * writes the one before; after a smaller batch it waits until the target is done with it. An empty
 * batch is handed over only to a writer that waits for one: it only moves the position, which the
 * next batch moves as far, and must not fill the queue while the target writes. It also
 * trims the source's log by the position the target last committed ({@link #done}). A batch's end
 * is handed over only once it is on the source's disk ({@link ChangeLog#awaitDurable}), so that the
 * target's position never passes what a crash of the source would keep.
 *
 * <p>Why ahead, and why only with a backlog: a batch read is the source's work and a batch written
 * the target's, and done one after the other each waits for the other; under load each is also one
 * runnable process against the application's many. Reading ahead lets a backlog drain at the pace
 * of the slower side rather than of both added up. But every batch has a fixed cost on both sides
 * (a read and its commit on the source, a position and a commit on the target), and an apply that
 * keeps up and reads ahead cuts the same changes into about twice as many batches, the extra cost
 * falling partly on the source the application writes to; so in the steady state it does not.
 * Nothing about the order changes: the target still applies whole batches, in order, each with its
 * position in its transaction, and the reader only ever reads (what it read ahead of a failed
 * target is dropped, and applying starts over from the target's position). Memory stays bounded in
 * changes: a batch of any size streams through the queue, at most about 4 × {@value #PART} changes
 * here, and the writer sends what it gathers in bounded pieces of the batch's one transaction
 * ({@link BatchWriter}, its notes on memory); a single row is held whole however large.
 */
final class ReadAhead implements AutoCloseable {
  /** Changes per part, and rows per fetch of the read's cursor. */
  private static final int PART = 1000;
  /** Parts queued for the target; with one being read and one being written, at most 4 × {@value #PART} changes are held. */
  private static final int QUEUED = 2;
  private static final long WAIT_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

  /**
   * Part of a batch: its changes in order; for its last part also where it ends, whether it is a
   * backlog batch (cut at a recorded tick), whether its end is kept on the source as a tick (only
   * then may it become the target's position: {@link ChangeLog#requireHoldsTick}), when its read
   * began and ended ({@link System#nanoTime()}); or the failure that ended reading.
   */
  record Part(List<Change> changes, ChangeLog.Tick end, boolean backlog, boolean kept, long readStarted, long readEnded,
      Throwable failure) {
    boolean last() {
      return end != null;
    }
  }

  /** Reading gave up because the target side went away: unwinds the read in progress. */
  private static final class Closed extends Exception {
    Closed() {
      super("read-ahead closed", null, false, false);
    }
  }

  private final Applier applier;
  private final Connection source;
  private final BlockingQueue<Part> queue = new ArrayBlockingQueue<>(QUEUED);
  private final Thread thread;
  private volatile ChangeLog.Tick committed;
  private volatile boolean closed;
  /** Batches the target is done with (the writer's count, {@link #done}). */
  private volatile long done;
  /** Batches handed over whole (the reading thread's). */
  private long handed;
  /** The part being read (the reading thread's only). */
  private List<Change> filling = new ArrayList<>();

  private ReadAhead(Applier applier, Connection source, ChangeLog.Tick from) {
    this.applier = applier;
    this.source = source;
    this.committed = from;
    this.thread = Threads.daemon("cutover-apply-" + applier.way().name() + "-read").newThread(() -> run(from));
  }

  /** Starts reading {@code source}'s log after {@code from}, the position committed on the target. */
  static ReadAhead start(Applier applier, Connection source, ChangeLog.Tick from) {
    ReadAhead r = new ReadAhead(applier, source, from);
    r.thread.start();
    return r;
  }

  /**
   * The target is done with the batch it was given last (committed, or nothing to write), and its
   * position is {@code persisted}: the source's log may be trimmed up to it.
   */
  void done(ChangeLog.Tick persisted) {
    committed = persisted;
    done = done + 1; // only the writer's thread writes it
    LockSupport.unpark(thread);
  }

  /**
   * The next part, waiting for it; null when the applier stops between batches ({@code inBatch}
   * false). Throws what ended reading.
   */
  Part next(boolean inBatch) throws Exception {
    while (true) {
      if (!inBatch && applier.stopping()) {
        return null;
      }
      Part p = queue.poll(WAIT_NANOS, TimeUnit.NANOSECONDS);
      if (p != null) {
        if (p.failure() != null) {
          throw p.failure() instanceof Exception e ? e : new IllegalStateException("reading the change log failed", p.failure());
        }
        return p;
      }
      if (!thread.isAlive() && queue.isEmpty()) {
        throw new IllegalStateException("the change log's reader ended without a word");
      }
    }
  }

  private void run(ChangeLog.Tick from) {
    Applier.Options options = applier.options();
    ChangeLog.Tick read = from;
    // When the last batch read was cut at the source's present, or 0 where it was not.
    long presentTaken = 0;
    long lastTrim = 0;
    // When the end of a batch was last kept on the source as a tick.
    long lastKept = System.nanoTime();
    try {
      while (!closed && !applier.stopping()) {
        long started = System.nanoTime();
        // Only a reader that may be more than a batch span behind asks for a recorded tick to stop at.
        Optional<ChangeLog.Tick> backlog = presentTaken == 0 || started - presentTaken >= options.batchSpan().toNanos()
            ? ChangeLog.backlogTick(source, read.snapshot(), read.sourceTime(), options.batchSpan()) : Optional.empty();
        ChangeLog.Batch batch = ChangeLog.read(source, read.snapshot(), backlog.orElse(null), PART, this::add);
        // An empty batch only moves the position, and the next batch moves it as far: handed over
        // only to a writer that waits, so that empty batches never fill the queue while it writes.
        if (batch.changes() > 0 || queue.isEmpty()) {
          // The end becomes new's position: only once it is on the source's disk, or a crash there
          // could lose commits the target holds and hand out their transaction ids again.
          if (!ChangeLog.awaitDurable(source, batch, () -> !closed)) {
            throw new Closed();
          }
          // A batch with changes becomes the position, an empty one only every idleWrite: its end is kept as a tick first
          // (a backlog batch ends at one already).
          boolean kept = batch.changes() > 0 || System.nanoTime() - lastKept >= options.idleWrite().toNanos();
          if (kept && backlog.isEmpty()) {
            ChangeLog.keep(source, batch.tick());
            lastKept = System.nanoTime();
          }
          hand(new Part(filling, batch.tick(), backlog.isPresent(), kept, started, System.nanoTime(), null));
          filling = new ArrayList<>();
          handed++;
          if (batch.changes() > 0 && batch.changes() < PART && backlog.isEmpty()) {
            awaitDone();
          }
        }
        presentTaken = backlog.isPresent() ? 0 : started;
        read = batch.tick();
        if (System.nanoTime() - lastTrim >= options.trimEvery().toNanos()) {
          ChangeLog.trim(source, committed, options.rotateAfter());
          lastTrim = System.nanoTime();
        }
        if (batch.changes() == 0) {
          pauseUntil(System.nanoTime() + options.poll().toNanos());
        } else if (backlog.isEmpty()) {
          pauseUntil(started + options.batchEvery().toNanos());
        }
      }
    } catch (Closed e) {
      // The target side stopped reading.
    } catch (Throwable t) {
      try {
        hand(new Part(List.of(), null, false, false, 0, 0, t));
      } catch (Closed e) {
        // Nobody is left to tell.
      }
    }
  }

  private void add(Change c) throws Closed {
    filling.add(c);
    if (filling.size() == PART) {
      hand(new Part(filling, null, false, false, 0, 0, null));
      filling = new ArrayList<>();
    }
  }

  /** Queues {@code p} for the target, waiting while the queue is full, unless closed (or interrupted) meanwhile. */
  private void hand(Part p) throws Closed {
    try {
      while (!queue.offer(p, WAIT_NANOS, TimeUnit.NANOSECONDS)) {
        if (closed) {
          throw new Closed();
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Closed();
    }
  }

  /** Waits until the target is done with every batch handed over (or reading stops). */
  private void awaitDone() {
    while (!closed && !applier.stopping() && done < handed) {
      LockSupport.parkNanos(WAIT_NANOS);
    }
  }

  private void pauseUntil(long deadline) {
    long left;
    while (!closed && !applier.stopping() && (left = deadline - System.nanoTime()) > 0) {
      LockSupport.parkNanos(Math.min(left, WAIT_NANOS));
    }
  }

  /**
   * Stops reading: a read in progress is rolled back at its next part, and one that waits on a
   * source gone silent is cut off by aborting the source's connection (the applier closes it next
   * anyway), so that stopping never waits for the network timeout.
   */
  @Override
  public void close() {
    closed = true;
    LockSupport.unpark(thread);
    if (Threads.joinAll(List.of(thread), java.time.Duration.ofSeconds(2))) {
      return;
    }
    try {
      source.abort(Runnable::run);
    } catch (Exception ignored) {
      // Closing the connection next ends the read all the same.
    }
    Threads.joinAll(List.of(thread), java.time.Duration.ofSeconds(5));
  }
}
