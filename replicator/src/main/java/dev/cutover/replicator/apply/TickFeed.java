package dev.cutover.replicator.apply;

import dev.cutover.replicator.Failure;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.capture.ChangeLog;
import dev.cutover.replicator.capture.Ticker;
import dev.cutover.replicator.copy.TriggersOff;
import java.sql.Connection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Trigger capture's feed: read the change log from the last applied tick up to the source's
 * present (one statement that is its own tick), apply it with the position in the same
 * transaction, trim the log, repeat. A target that may be more than a batch span behind (at the
 * start, after a backlog batch, after a batch that took that long) stops at a recorded tick
 * instead, so that a backlog comes in batches of that span. Reading runs on a thread of its own,
 * a batch ahead of writing while there is a backlog ({@link ReadAhead}). Each round trip counts: under load the apply shares
 * the source's cores with its writers, and every reply waits its turn there.
 */
final class TickFeed implements Feed {
  /** At DEBUG, each batch's size and where its time went: what lag under load is made of. */
  private static final Logger LOG = LoggerFactory.getLogger(TickFeed.class);
  /**
   * Changes in one batch past which the apply says, once per batch, that they are one transaction:
   * a backlog with no recorded tick inside it (written while neither apply nor a heartbeat writer
   * ticked, r28) comes as one, and shows nothing as applied until it commits (meanwhile
   * {@link Applier#inFlight} says how far it has come).
   */
  private static final long LARGE_BATCH = 10_000;

  @Override
  public void apply(Applier applier, Connection source, Connection target, TriggersOff mode) throws Exception {
    Way way = applier.way();
    ApplyProgress.Position at = ApplyProgress.read(target, way.name()).orElseThrow(() -> new ReplicatorException(Failure.PRECONDITION,
        way.label() + " is not armed: " + way.target().side().label() + " has no apply position for it",
        way.name().equals(Way.FORWARD) ? "run `cutover-replicator start --capture triggers`" : "run `cutover-replicator reverse`"));
    requireSourceHoldsPosition(way, source, new ChangeLog.Tick(at.snapshot(), at.sourceTime()));
    applier.announce(at.snapshot().text(), mode);
    try (Ticker ticker = Ticker.start(way.source(), applier.options().tickEvery())) {
      // Into old while old's slot is relayed to new: each batch marks itself, so the relay leaves it out.
      String opening = way.name().equals(Way.REVERSE) && RelayProgress.armed(source) ? ApplyProgress.markSql() : null;
      loop(applier, source, new BatchWriter(target, way.target().side().label(), mode, opening, way.target()),
          new ChangeLog.Tick(at.snapshot(), at.sourceTime()));
    }
  }

  /**
   * Refuses to apply from {@code at}, the target's position, where the source lost commits the
   * target holds or its log was trimmed past it: a refusal the applier notes on the target for good
   * ({@link ApplyFailures#recordStop}), since the transaction-id check passes again once the source has
   * handed out more ids (r31). Checked at each connection, so also after a failover of the source.
   */
  private static void requireSourceHoldsPosition(Way way, Connection source, ChangeLog.Tick at) throws Exception {
    String sourceLabel = way.source().side().label();
    String targetLabel = way.target().side().label();
    ChangeLog.recordTrims(source);
    ChangeLog.requireNotTrimmedPast(source, at.snapshot(), sourceLabel, targetLabel);
    ChangeLog.requireNotBehind(source, at.snapshot(), sourceLabel, targetLabel);
    ChangeLog.requireHoldsTick(source, at, sourceLabel, targetLabel);
  }

  /**
   * Writes batch after batch as the reader hands them over, until stopped between two.
   * {@code persisted} is the position written on the target: a batch without changes moves only
   * how far the applier says it is (and the written position where the reader kept its end as a
   * tick, every {@code idleWrite}), since rereading an empty batch after a restart costs nothing.
   * The reader trims the log by the written position.
   */
  private static void loop(Applier applier, Connection source, BatchWriter writer, ChangeLog.Tick from) throws Exception {
    String direction = applier.way().name();
    ChangeLog.Tick persisted = from;
    try (ReadAhead reader = ReadAhead.start(applier, source, from)) {
      long n = 0;
      boolean inBatch = false;
      while (true) {
        ReadAhead.Part part;
        long got;
        try {
          part = reader.next(inBatch);
          if (part == null) {
            return;
          }
          got = System.nanoTime();
          for (ChangeLog.Change c : part.changes()) {
            writer.add(c);
          }
        } catch (Exception e) {
          writer.abandon(e); // what ended reading, or a change that could not be written
          throw e;
        }
        long before = n;
        n += part.changes().size();
        applier.writing(n);
        if (before < LARGE_BATCH && n >= LARGE_BATCH) {
          LOG.warn("{}: this batch holds {} change(s) and more, applied on {} as one transaction that counts as applied only once"
              + " it commits: a backlog written while neither apply nor `cutover-replicator heartbeat` recorded ticks on {} comes"
              + " as one batch; keep the heartbeat running while apply is stopped", applier.way().label(), LARGE_BATCH,
              applier.way().target().side().label(), applier.way().source().side().label());
        }
        inBatch = !part.last();
        if (inBatch) {
          continue;
        }
        ChangeLog.Tick tick = part.end();
        if (n > 0 || part.kept() && !tick.snapshot().text().equals(persisted.snapshot().text())) {
          long batchChanges = n;
          applier.applied(n, writer.commit(m -> ApplyProgress.advanceSql(direction, tick, batchChanges, m)));
          persisted = tick;
          if (n > 0 && LOG.isDebugEnabled()) {
            LOG.debug("{}: batch of {} change(s){}: tick and read {} ms, the rest written and committed {} ms", applier.way().label(), n,
                part.backlog() ? " (backlog)" : "", (part.readEnded() - part.readStarted()) / 1_000_000,
                (System.nanoTime() - got) / 1_000_000);
          }
        } else {
          writer.rollback();
        }
        applier.reached(tick.sourceTime());
        reader.done(persisted);
        n = 0;
      }
    }
  }
}
