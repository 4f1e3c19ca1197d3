package dev.cutover.replicator;

import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The session advisory locks a {@code start} holds for its whole run, undo included, so that a
 * second start that overlaps it is refused up front instead of racing it: two starts both passed
 * their preconditions (nothing installed yet, new's tables empty), the second failed on the rows
 * the first had copied, and its undo removed the capture the first had installed, while the first
 * went on to report success over a broken migration. Under these locks every precondition sees
 * what earlier starts left, and an undo removes only what its own run created.
 *
 * <p>Design notes. Two locks, one per database that a start fills or captures in: on old, keyed by
 * the migration's label ({@link #MIGRATION}), since two migrations of one old database to two
 * targets may start together; on new, one per database ({@link #DATABASE}), since two starts into
 * one database copy into the same tables whatever their labels. Trigger capture also takes the
 * database lock on old: its change log is one per database. Taken with {@code pg_try_advisory_lock}
 * (two keys, so objsubid 2 in pg_locks): a start does not wait for another, which may copy for
 * hours; it is refused naming the holder. The classes follow the apply lock's ("cut3") and the
 * switch leader's ("cut2"); the control schema's install lock is a one-key lock (objsubid 1), so
 * none collides. A lock's key is open to every role that may connect: the refusal names the
 * holding process and its role, so one that is no start can be ended. Released explicitly before
 * the connections close (a closed connection's backend may hold it a moment longer), and by the
 * server when a killed start's connection ends.
 */
final class StartLock implements AutoCloseable {
  /** Advisory lock class ("cut4") of a migration's start on old; the object id is the hash of its label. */
  static final int MIGRATION = 0x63757434;
  /** Advisory lock class ("cut5") of any start filling a database (new), or capturing in it (old, trigger capture); object id 0. */
  static final int DATABASE = 0x63757435;
  /** The longest a lock's release waits for its answer. */
  private static final Duration UNLOCK_WAIT = Duration.ofSeconds(5);

  private final Names names;
  private final Duration networkTimeout;
  private final List<Connection> sessions = new ArrayList<>();
  private final List<String> unlocks = new ArrayList<>();

  private StartLock(Names names, Duration networkTimeout) {
    this.names = names;
    this.networkTimeout = networkTimeout;
  }

  /**
   * Takes the migration's lock on {@code old} and the database lock on {@code nw}, each over a
   * session of its own held until {@link #close}.
   *
   * @throws ReplicatorException {@link Failure#PRECONDITION} naming the side and the session holding one
   */
  static StartLock take(Endpoint old, Endpoint nw, Names names, Duration networkTimeout) throws Exception {
    StartLock lock = new StartLock(names, networkTimeout);
    try {
      lock.take(old, MIGRATION, names.label().hashCode(), "of migration " + names.label());
      lock.take(nw, DATABASE, 0, "into this database");
      return lock;
    } catch (Exception e) {
      lock.close();
      throw e;
    }
  }

  /** Also takes the database lock on {@code old}: trigger capture installs its one change log there. */
  void captureOn(Endpoint old) throws Exception {
    take(old, DATABASE, 0, "with trigger capture from this database");
  }

  private void take(Endpoint side, int lockClass, int key, String which) throws Exception {
    Connection c = side.connect();
    sessions.add(c);
    Sql.answerWithin(networkTimeout, c);
    String label = side.side().label();
    if (Sql.bool(c, "SELECT pg_try_advisory_lock(" + lockClass + ", " + key + ")")) {
      unlocks.add("SELECT pg_advisory_unlock(" + lockClass + ", " + key + ") IS NOT NULL");
      return;
    }
    String[] holder = Sql.rows(c, "SELECT l.pid::text, coalesce(quote_ident(a.usename::text), 'unknown'), coalesce(a.application_name, ''),"
        + " coalesce(a.backend_start::text, 'unknown') FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid"
        + " WHERE l.locktype = 'advisory' AND l.granted AND l.classid = " + Integer.toUnsignedLong(lockClass) + " AND l.objid = "
        + Integer.toUnsignedLong(key) + " AND l.objsubid = 2 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        + " UNION ALL SELECT NULL, NULL, NULL, NULL LIMIT 1").get(0);
    String who = holder[0] == null ? "a session that has let go since" : "process " + holder[0] + " (role " + holder[1]
        + (holder[2].isEmpty() ? "" : ", application '" + holder[2] + "'") + ", connected since " + holder[3] + ")";
    throw new ReplicatorException(Failure.PRECONDITION, label + ": another `cutover-replicator start` " + which + " runs: " + who
        + " holds its lock (advisory lock " + lockClass + ", " + key + "); nothing was done",
        holder[0] == null ? "run start again" : "let that start finish, then see `cutover-replicator status`; if it is no start of"
            + " Cutover's, or is stuck, end it (SELECT pg_terminate_backend(" + holder[0] + ") on " + label + ") and run start again");
  }

  /** Lets go of every lock and closes their sessions. */
  @Override
  public void close() {
    for (int i = 0; i < sessions.size(); i++) {
      Connection c = sessions.get(i);
      try {
        if (i < unlocks.size()) {
          // A side gone silent must not hold the start's end a whole network timeout more: the server
          // lets the lock go with the session anyway.
          Sql.answerWithin(networkTimeout.compareTo(UNLOCK_WAIT) < 0 ? networkTimeout : UNLOCK_WAIT, c);
          Sql.bool(c, unlocks.get(i));
        }
      } catch (SQLException ignored) {
        // A broken session holds nothing once its backend is gone.
      }
      try {
        c.close();
      } catch (SQLException ignored) {
        // The server lets the lock go with the session.
      }
    }
    sessions.clear();
    unlocks.clear();
  }

  @Override
  public String toString() {
    return "start locks of migration " + names.label();
  }
}
