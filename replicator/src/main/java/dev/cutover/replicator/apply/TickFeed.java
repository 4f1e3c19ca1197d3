package dev.cutover.replicator.apply;

import dev.cutover.replicator.Failure;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.capture.ChangeLog;
import dev.cutover.replicator.capture.Ticker;
import dev.cutover.replicator.copy.TriggersOff;
import java.sql.Connection;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Trigger capture's feed: read the change log from the last applied tick up to the source's
 * present (one statement that is its own tick), apply it with the position in the same
 * transaction, trim the log, repeat. A target that may be more than a batch span behind (at the
 * start, after a backlog batch, after a batch that took that long) stops at a recorded tick
 * instead, so that a backlog comes in batches of that span. Each round trip counts: under load the
 * apply shares the source's cores with its writers, and every reply waits its turn there.
 */
final class TickFeed implements Feed {
  /** At DEBUG, each batch's size and where its time went: what lag under load is made of. */
  private static final Logger LOG = LoggerFactory.getLogger(TickFeed.class);
  private static final int FETCH = 1000;

  @Override
  public void apply(Applier applier, Connection source, Connection target, TriggersOff mode) throws Exception {
    Way way = applier.way();
    ApplyProgress.Position at = ApplyProgress.read(target, way.name()).orElseThrow(() -> new ReplicatorException(Failure.PRECONDITION,
        way.label() + " is not armed: " + way.target().side().label() + " has no apply position for it",
        way.name().equals(Way.FORWARD) ? "run `cutover-replicator start --capture triggers`" : "run `cutover-replicator reverse`"));
    ChangeLog.recordTrims(source);
    ChangeLog.requireNotTrimmedPast(source, at.snapshot(), way.source().side().label(), way.target().side().label());
    applier.announce(at.snapshot().text(), mode);
    try (Ticker ticker = Ticker.start(way.source(), applier.options().tickEvery())) {
      // Into old while old's slot is relayed to new: each batch marks itself, so the relay leaves it out.
      String opening = way.name().equals(Way.REVERSE) && RelayProgress.armed(source) ? ApplyProgress.markSql() : null;
      loop(applier, source, new BatchWriter(target, way.target().side().label(), mode, opening),
          new ChangeLog.Tick(at.snapshot(), at.sourceTime()));
    }
  }

  /**
   * Applies batch after batch from {@code from} until stopped. {@code applied} is how far the
   * target is, {@code persisted} the position written there: a batch without changes moves only
   * {@code applied} (and the written position every {@code idleWrite}), since rereading an empty
   * batch after a restart costs nothing. The log is trimmed by the written position.
   */
  private static void loop(Applier applier, Connection source, BatchWriter writer, ChangeLog.Tick from) throws Exception {
    Applier.Options options = applier.options();
    String direction = applier.way().name();
    ChangeLog.Tick applied = from;
    ChangeLog.Tick persisted = from;
    long lastWrite = System.nanoTime();
    long lastTrim = 0;
    // When the applied tick was taken here, or 0 where it was not (at the start, a recorded tick).
    long appliedTaken = 0;
    while (!applier.stopping()) {
      long started = System.nanoTime();
      // Only a target that may be more than a batch span behind asks for a recorded tick to stop at.
      Optional<ChangeLog.Tick> backlog = appliedTaken == 0 || started - appliedTaken >= options.batchSpan().toNanos()
          ? ChangeLog.backlogTick(source, applied.snapshot(), applied.sourceTime(), options.batchSpan()) : Optional.empty();
      ChangeLog.Batch batch;
      try {
        batch = ChangeLog.read(source, applied.snapshot(), backlog.orElse(null), FETCH, writer::add);
      } catch (Exception e) {
        writer.abandon(e);
        throw e;
      }
      ChangeLog.Tick tick = batch.tick();
      long n = batch.changes();
      appliedTaken = backlog.isPresent() ? 0 : started;
      long read = System.nanoTime();
      boolean idleWriteDue = read - lastWrite >= options.idleWrite().toNanos();
      if (n > 0 || idleWriteDue && !tick.snapshot().text().equals(persisted.snapshot().text())) {
        long batchChanges = n;
        applier.applied(n, writer.commit(m -> ApplyProgress.advanceSql(direction, tick, batchChanges, m)));
        persisted = tick;
        lastWrite = System.nanoTime();
        if (n > 0 && LOG.isDebugEnabled()) {
          LOG.debug("{}: batch of {} change(s){}: tick and read {} ms (full groups of changes written meanwhile), the rest written and"
              + " committed {} ms", applier.way().label(), n,
              backlog.isPresent() ? " (backlog)" : "", (read - started) / 1_000_000, (lastWrite - read) / 1_000_000);
        }
      } else {
        writer.rollback();
      }
      applied = tick;
      applier.reached(tick.sourceTime());
      if (System.nanoTime() - lastTrim >= options.trimEvery().toNanos()) {
        ChangeLog.trim(source, persisted, options.rotateAfter());
        lastTrim = System.nanoTime();
      }
      if (n == 0) {
        applier.pauseUntil(System.nanoTime() + options.poll().toNanos());
      } else if (backlog.isEmpty()) {
        applier.pauseUntil(started + options.batchEvery().toNanos());
      }
    }
  }
}
