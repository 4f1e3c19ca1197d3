package dev.cutover.replicator.replication;

import dev.cutover.common.Poll;
import dev.cutover.replicator.Endpoint;
import dev.cutover.replicator.Failure;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.postgresql.PGConnection;
import org.postgresql.replication.ReplicationSlotInfo;
import org.postgresql.replication.fluent.logical.ChainedLogicalCreateSlotBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates a logical replication slot, watched: {@code start}'s on old, {@code reverse}'s on the
 * side about to serve. Its snapshot needs every transaction that
 * holds a transaction id when creation begins to end first, on any database of the server: a
 * transaction prepared for two-phase commit and left, or a session idle in a writing transaction,
 * keeps it waiting for as long, without a word. A second session looks every second at what the
 * walsender waits for, logs it once it has waited five seconds, and after the allowed wait cancels
 * the creation (nothing is left: a slot still being created is dropped when it fails) and refuses,
 * naming the transaction and how to end it.
 */
final class SlotCreation {
  private static final Logger LOG = LoggerFactory.getLogger(SlotCreation.class);
  private static final Duration LOOK_EVERY = Duration.ofSeconds(1);
  private static final Duration SAY_AFTER = Duration.ofSeconds(5);
  /** What the walsender {@code pid} waits for: a prepared transaction, or a session's. */
  private static final String BLOCKER = "SELECT coalesce('prepared transaction ' || quote_literal(p.gid) || ' of role ' || p.owner"
      + " || ' in database ' || p.database || ' since ' || p.prepared, 'transaction ' || h.transactionid || ' of process ' || h.pid"
      + " || coalesce(' (role ' || a.usename || ' in database ' || a.datname || coalesce(', ' || a.state, '')"
      + " || coalesce(', since ' || a.xact_start, '') || ')', ''))"
      + " FROM pg_locks w JOIN pg_locks h ON h.locktype = 'transactionid' AND h.transactionid = w.transactionid AND h.granted"
      + " LEFT JOIN pg_prepared_xacts p ON p.transaction = h.transactionid LEFT JOIN pg_stat_activity a ON a.pid = h.pid"
      + " WHERE w.pid = ? AND w.locktype = 'transactionid' AND NOT w.granted LIMIT 1";

  private SlotCreation() {}

  /**
   * Creates {@code slot} (pgoutput) through {@code replication}, a replication connection to
   * {@code side}, exporting its snapshot; waits at most {@code allowed} for the transactions it
   * must see end.
   *
   * @param sideName old or new, as messages name {@code side}
   * @param temporary whether the slot goes with its session (it only exports a snapshot)
   * @param again the command to run once the transaction in the way has ended
   */
  static ReplicationSlotInfo create(Endpoint side, String sideName, Connection replication, String slot, boolean temporary,
      Duration allowed, String again) throws SQLException, ReplicatorException {
    int walsender = replication.unwrap(PGConnection.class).getBackendPID();
    AtomicBoolean done = new AtomicBoolean();
    AtomicReference<String> gaveUpOn = new AtomicReference<>();
    Thread watcher = new Thread(() -> watch(side, sideName, walsender, allowed, done, gaveUpOn), "cutover-slot-watch");
    watcher.setDaemon(true);
    watcher.start();
    try {
      ChainedLogicalCreateSlotBuilder creating = replication.unwrap(PGConnection.class).getReplicationAPI().createReplicationSlot()
          .logical().withSlotName(slot).withOutputPlugin("pgoutput");
      return (temporary ? creating.withTemporaryOption() : creating).make();
    } catch (SQLException e) {
      if (gaveUpOn.get() != null) {
        throw new ReplicatorException(Failure.TIMEOUT, sideName + ": creating replication slot " + slot + " waited " + allowed.toSeconds()
            + " s for " + gaveUpOn.get() + ", which must end before the slot can take its snapshot (any database of the"
            + " server counts)", "end it (COMMIT PREPARED or ROLLBACK PREPARED a prepared transaction; commit, roll back or"
            + " pg_terminate_backend a session's), or allow longer with --slot-wait, then run " + again + " again", e);
      }
      throw e;
    } finally {
      done.set(true);
      watcher.interrupt();
    }
  }

  /**
   * Makes {@code slot} on {@code side} (PostgreSQL 17 or later) a failover slot: one that a standby
   * with {@code sync_replication_slots} keeps a copy of, so that a failover of the side to it does
   * not lose the slot. Through a replication connection of its own: the one that created the slot
   * must stay idle while its exported snapshot is in use.
   */
  static void failover(Endpoint side, String slot) throws SQLException, ReplicatorException {
    try (Connection replication = side.connectReplication()) {
      Sql.execute(replication, "ALTER_REPLICATION_SLOT " + Sql.ident(slot) + " (FAILOVER true)");
    }
  }

  private static void watch(Endpoint side, String sideName, int walsender, Duration allowed, AtomicBoolean done,
      AtomicReference<String> gaveUpOn) {
    long started = System.nanoTime();
    long deadline = Poll.deadline(allowed);
    boolean said = false;
    try (Connection c = side.connect()) {
      while (!done.get()) {
        String blocker = Sql.string(c, BLOCKER, walsender);
        if (blocker != null && !said && System.nanoTime() - started > SAY_AFTER.toNanos()) {
          LOG.warn("creating the replication slot on {} waits for {} to end", sideName, blocker);
          said = true;
        }
        if (blocker != null && Poll.passed(deadline)) {
          gaveUpOn.set(blocker);
          Sql.bool(c, "SELECT pg_cancel_backend(?)", walsender);
          return;
        }
        if (Poll.every(LOOK_EVERY).within(LOOK_EVERY, done::get)) {
          return;
        }
      }
    } catch (Exception e) {
      if (!done.get()) {
        LOG.warn("cannot watch the replication slot's creation on {}: {}", sideName, e.toString());
      }
    }
  }
}
