package dev.cutover.sample;

import dev.cutover.flags.Target;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeoutException;

/**
 * Keeps the database that does not serve in step with the one that does: the rehearsal's seam
 * for replication. {@link NativeReplication} sets up PostgreSQL's own publications and
 * subscriptions by hand; the replicator (issue 4) will take its place.
 *
 * <p>Replication runs in one direction at a time, into {@link #into()}. The driver needs nothing
 * from it but that rows, barrier markers included, arrive in commit order.
 */
interface ReplicationSetup {

  /** Problems that keep replication from working between the two databases; empty when there are none. */
  List<String> check() throws SQLException;

  /**
   * Starts replicating old into new, copying what old holds first, and returns once new has caught
   * up. The tables and the control schema must already exist on both sides.
   */
  void start(Duration timeout) throws SQLException, TimeoutException, InterruptedException;

  /** The side replication writes into; null before {@link #start}. */
  Target into();

  /** Waits until {@link #into()} has applied everything the other side committed before this call. */
  void awaitCaughtUp(Duration timeout) throws SQLException, TimeoutException, InterruptedException;

  /**
   * Turns replication around so that it writes into {@code target}, without losing anything the
   * other side committed meanwhile, and returns once {@code target} has caught up. Meant for right
   * after traffic moved away from {@code target} (which is then fenced): it arms the way back.
   * Does nothing when replication already writes into {@code target}.
   */
  void replicateInto(Target target, Duration timeout) throws SQLException, TimeoutException, InterruptedException;

  /** How far {@link #into()} is behind now, or empty while replication is being turned around. */
  Optional<ReplicationLag> lag();

  /** One line saying what replicates, for the report. */
  String describe();

  /** Bytes of WAL the receiving side has not confirmed, and the publisher's write lag. */
  record ReplicationLag(long bytes, double millis) {}
}
