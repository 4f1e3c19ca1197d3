package dev.cutover.testkit;

import dev.cutover.common.Quoting;
import dev.cutover.common.Poll;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeoutException;

/**
 * Native PostgreSQL logical replication from an old to a new database, set up and torn down the way
 * tests need it (PostgreSQL 12 to 18 on either side). Names are quoted identifiers, used as given.
 *
 * <p>Tests use it to stand in for "replication set up by another tool", which the driver must work
 * beside. The subscription is created on {@code nw} and connects to the old server through a libpq
 * string such as {@link PostgresServer#libpqConnection(String)}.
 */
public final class LogicalReplication {

  /** Whether a new subscription first copies the rows the published tables already hold. */
  public enum InitialData {
    COPY,
    SKIP
  }

  private static final Poll POLL = Poll.every(Duration.ofMillis(20));
  private static final String OBJECT_IN_USE = "55006";

  private LogicalReplication() {}

  /** Publishes every table of the old database, including tables created later. */
  public static void publishAll(Connection old, String publication) throws SQLException {
    execute(old, "CREATE PUBLICATION " + Quoting.identifier(publication) + " FOR ALL TABLES");
  }

  /**
   * Subscribes the new database to {@code publication}; the tables must already exist on the new
   * side. Creates a slot of the subscription's name on the old server.
   */
  public static void subscribe(Connection nw, String subscription, String oldConnection, String publication, InitialData initialData) throws SQLException {
    execute(nw, "CREATE SUBSCRIPTION " + Quoting.identifier(subscription)
        + " CONNECTION " + Quoting.literal(oldConnection)
        + " PUBLICATION " + Quoting.identifier(publication)
        + " WITH (copy_data = " + (initialData == InitialData.COPY) + ")");
  }

  /**
   * Waits until the new database has applied every change whose WAL the old server had written when
   * this method was called (every synchronous commit): every table's initial copy is done (state
   * {@code s} or {@code r}) and the subscription's apply worker has confirmed receiving the old
   * server's WAL up to that point.
   *
   * <p>The confirmation is read on the old server ({@code pg_stat_replication.write_lsn} of the
   * walsender holding the subscription's slot), because the apply worker reports it only after
   * applying everything received before. The subscriber's own {@code received_lsn} is set before
   * applying, and its {@code latest_end_lsn} moves only on keepalives, which can be 30 s apart.
   *
   * @throws TimeoutException if that does not happen within {@code timeout}; the message says what was missing
   */
  public static void awaitSynced(Connection old, Connection nw, String subscription, Duration timeout) throws SQLException, TimeoutException, InterruptedException {
    String target = currentWalLsn(old);
    String slot = subscriptionInfo(nw, subscription).slot();
    String[] missing = {null};
    if (!POLL.within(timeout, () -> (missing[0] = syncMissing(old, nw, subscription, slot, target)) == null)) {
      throwIfInterrupted();
      throw new TimeoutException("Subscription " + subscription + " did not sync within " + timeout.toMillis() + " ms: " + missing[0]);
    }
  }

  /** Stops the subscription's apply workers, which releases its slot on the old server; keeps everything else. */
  public static void disable(Connection nw, String subscription) throws SQLException {
    execute(nw, "ALTER SUBSCRIPTION " + Quoting.identifier(subscription) + " DISABLE");
  }

  /**
   * Drops the subscription and every replication slot it left on the old server.
   *
   * <p>The slots are dropped here rather than by {@code DROP SUBSCRIPTION}, because the old server's
   * walsender may still hold the slot for a moment after the subscription stops, and releasing it
   * is asynchronous; this waits up to {@code timeout} for that. Table-sync slots (PostgreSQL 14+
   * keeps them while a copy is under way) are dropped too.
   */
  public static void drop(Connection old, Connection nw, String subscription, Duration timeout) throws SQLException, TimeoutException, InterruptedException {
    SubscriptionInfo info = dropLeavingSlots(nw, subscription);
    dropSlots(old, info.slot(), "pg\\_" + info.oid() + "\\_sync\\_%", timeout);
  }

  /** Drops the subscription and leaves its slots on the old server, for an old server that is not running. */
  static SubscriptionInfo dropLeavingSlots(Connection nw, String subscription) throws SQLException {
    String quoted = Quoting.identifier(subscription);
    SubscriptionInfo info = subscriptionInfo(nw, subscription);
    execute(nw, "ALTER SUBSCRIPTION " + quoted + " DISABLE");
    execute(nw, "ALTER SUBSCRIPTION " + quoted + " SET (slot_name = NONE)");
    execute(nw, "DROP SUBSCRIPTION " + quoted);
    return info;
  }

  private static void dropSlots(Connection old, String slot, String syncSlotPattern, Duration timeout) throws SQLException, TimeoutException, InterruptedException {
    List<String> remaining = new ArrayList<>();
    boolean dropped = POLL.within(timeout, () -> {
      for (String name : slots(old, slot, syncSlotPattern)) {
        try (PreparedStatement statement = old.prepareStatement("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = ? AND NOT active")) {
          statement.setString(1, name);
          statement.execute();
        } catch (SQLException e) {
          // A walsender took the slot between the check and the drop: try again below.
          if (!OBJECT_IN_USE.equals(e.getSQLState())) {
            throw e;
          }
        }
      }
      remaining.clear();
      remaining.addAll(slots(old, slot, syncSlotPattern));
      return remaining.isEmpty();
    });
    if (!dropped) {
      throwIfInterrupted();
      throw new TimeoutException("Replication slots " + remaining + " on the old server were still in use after " + timeout.toMillis() + " ms");
    }
  }

  /** A {@link Poll} wait ends early, without throwing, when the thread is interrupted; these methods throw. */
  private static void throwIfInterrupted() throws InterruptedException {
    if (Thread.interrupted()) {
      throw new InterruptedException();
    }
  }

  private static List<String> slots(Connection old, String slot, String syncSlotPattern) throws SQLException {
    List<String> names = new ArrayList<>();
    try (PreparedStatement statement = old.prepareStatement("SELECT slot_name FROM pg_replication_slots WHERE slot_name = ? OR slot_name LIKE ?")) {
      statement.setString(1, slot);
      statement.setString(2, syncSlotPattern);
      try (ResultSet rs = statement.executeQuery()) {
        while (rs.next()) {
          names.add(rs.getString(1));
        }
      }
    }
    return names;
  }

  private static String currentWalLsn(Connection old) throws SQLException {
    try (Statement statement = old.createStatement(); ResultSet rs = statement.executeQuery("SELECT pg_current_wal_lsn()::text")) {
      rs.next();
      return rs.getString(1);
    }
  }

  record SubscriptionInfo(long oid, String slot) {}

  private static SubscriptionInfo subscriptionInfo(Connection nw, String subscription) throws SQLException {
    try (PreparedStatement statement = nw.prepareStatement("SELECT oid, subslotname FROM pg_subscription WHERE subname = ? AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())")) {
      statement.setString(1, subscription);
      try (ResultSet rs = statement.executeQuery()) {
        if (!rs.next()) {
          throw new SQLException("Subscription " + subscription + " does not exist in the new database", "42704");
        }
        return new SubscriptionInfo(rs.getLong(1), rs.getString(2));
      }
    }
  }

  /** What still keeps the subscription from being synced up to {@code target}, or null when nothing does. */
  private static String syncMissing(Connection old, Connection nw, String subscription, String slot, String target) throws SQLException {
    try (PreparedStatement statement = nw.prepareStatement("SELECT count(*) FROM pg_subscription_rel r JOIN pg_subscription s ON s.oid = r.srsubid"
        + " WHERE s.subname = ? AND s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND r.srsubstate NOT IN ('s', 'r')")) {
      statement.setString(1, subscription);
      try (ResultSet rs = statement.executeQuery()) {
        rs.next();
        if (rs.getLong(1) > 0) {
          return rs.getLong(1) + " table(s) still in their initial copy";
        }
      }
    }
    try (PreparedStatement statement = old.prepareStatement("SELECT r.write_lsn::text, r.write_lsn >= ?::pg_lsn"
        + " FROM pg_replication_slots s JOIN pg_stat_replication r ON r.pid = s.active_pid WHERE s.slot_name = ?")) {
      statement.setString(1, target);
      statement.setString(2, slot);
      try (ResultSet rs = statement.executeQuery()) {
        if (!rs.next()) {
          return "no walsender on the old server holds slot " + slot;
        }
        return rs.getBoolean(2) ? null : "confirmed receipt up to " + rs.getString(1) + ", old server was at " + target;
      }
    }
  }

  private static void execute(Connection connection, String sql) throws SQLException {
    try (Statement statement = connection.createStatement()) {
      statement.execute(sql);
    }
  }
}
