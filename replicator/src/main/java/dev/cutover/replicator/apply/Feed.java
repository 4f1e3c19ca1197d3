package dev.cutover.replicator.apply;

import dev.cutover.replicator.copy.TriggersOff;
import java.sql.Connection;

/**
 * Where an {@link Applier}'s batches come from: the source's change log cut at ticks
 * ({@link TickFeed}), or what a logical replication slot on the source decodes ({@link SlotFeed}).
 * The applier owns the connections, the lock, the retries and the counts; a feed owns the position
 * on the target and the loop that moves it, batch by batch, each applied whole or not at all.
 */
interface Feed {
  /**
   * Applies batch after batch from the target's position until {@code applier} stops; any
   * exception rolls back the batch in flight, and the applier starts over from the target.
   */
  void apply(Applier applier, Connection source, Connection target, TriggersOff mode) throws Exception;
}
