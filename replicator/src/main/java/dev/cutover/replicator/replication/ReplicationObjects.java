package dev.cutover.replicator.replication;

import dev.cutover.common.Poll;
import dev.cutover.replicator.ReplicatorException;
import dev.cutover.replicator.Side;
import dev.cutover.replicator.ddl.DdlCapture;
import dev.cutover.replicator.privileges.PasswordStatements;
import dev.cutover.replicator.sql.Catalog;
import dev.cutover.replicator.sql.ShortLocks;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.replicator.sql.TableName;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Creating, finding and dropping publications, subscriptions and replication slots. Every name
 * is quoted; every connection string is a literal. A server older than 10 (a trigger-capture
 * source) has neither publications nor subscriptions: the lookups find none there.
 */
public final class ReplicationObjects {
  private static final String OBJECT_IN_USE = "55006";
  private static final String UNDEFINED_OBJECT = "42704";
  private static final String INSUFFICIENT_PRIVILEGE = "42501";
  private static final String THIS_DATABASE = " AND database = current_database()";
  private static final Poll SLOT_POLL = Poll.every(Duration.ofMillis(5), Duration.ofMillis(100));

  private ReplicationObjects() {}

  /**
   * Creates {@code name} on {@code c} if it is missing: {@code FOR ALL TABLES} for a superuser,
   * else for every application table plus the control tables (which needs only ownership).
   *
   * @return whether it was created now
   */
  public static boolean createPublication(Connection c, String side, String name) throws SQLException, ReplicatorException {
    if (publicationExists(c, name)) {
      return false;
    }
    if (Catalog.superuser(c)) {
      Sql.execute(c, "CREATE PUBLICATION " + Sql.ident(name) + " FOR ALL TABLES");
    } else {
      List<TableName> tables = new ArrayList<>(Catalog.applicationTables(c));
      tables.add(new TableName("cutover", "barrier"));
      tables.add(new TableName("cutover", "replication_heartbeat"));
      if (DdlCapture.logExists(c)) {
        tables.add(DdlCapture.LOG);
      }
      addingTables(c, side, tables, "CREATE PUBLICATION " + Sql.ident(name) + " FOR TABLE "
          + tables.stream().map(TableName::quoted).collect(Collectors.joining(", ")));
    }
    return true;
  }

  /** Adds {@code table} to publication {@code name} unless it publishes it already (FOR ALL TABLES included). */
  public static void publish(Connection c, String side, String name, TableName table) throws SQLException, ReplicatorException {
    if (!Sql.bool(c, "SELECT EXISTS (SELECT 1 FROM pg_publication_tables WHERE pubname = ? AND format('%I.%I', schemaname, tablename)"
        + " = ?::regclass::text)", name, table.quoted())) {
      addingTables(c, side, List.of(table), "ALTER PUBLICATION " + Sql.ident(name) + " ADD TABLE " + table.quoted());
    }
  }

  /**
   * Adding a table to a publication takes SHARE UPDATE EXCLUSIVE on it, which a VACUUM (an
   * anti-wraparound one is never cancelled), a CREATE INDEX CONCURRENTLY or a transaction that
   * altered the table holds for as long as it runs: waited for in short tries ({@link ShortLocks}),
   * then refused naming the tables, rather than start waiting in silence.
   */
  private static void addingTables(Connection c, String side, List<TableName> tables, String sql)
      throws SQLException, ReplicatorException {
    ShortLocks.run(c, side, tables, "to publish them", () -> {
      Sql.execute(c, sql);
      return null;
    });
  }

  public static boolean publicationExists(Connection c, String name) throws SQLException {
    return logical(c) && Sql.bool(c, "SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = ?)", name);
  }

  public static boolean subscriptionExists(Connection c, String name) throws SQLException {
    return logical(c) && Sql.bool(c, "SELECT EXISTS (SELECT 1 FROM pg_subscription WHERE subname = ?"
        + " AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database()))", name);
  }

  /** Whether the slot exists on this server, for any database (slots are server-wide). */
  public static boolean slotExists(Connection c, String slot) throws SQLException {
    return Sql.bool(c, "SELECT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = ?)", slot);
  }

  /** The database the slot belongs to, or null when the server has no such slot (a physical slot has none: ""). */
  public static String slotDatabase(Connection c, String slot) throws SQLException {
    return Sql.string(c, "SELECT coalesce(database::text, '') FROM pg_replication_slots WHERE slot_name = ?", slot);
  }

  /** Whether the slot exists and belongs to the current database. */
  public static boolean ownSlotExists(Connection c, String slot) throws SQLException {
    return Sql.bool(c, "SELECT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = ? AND database = current_database())", slot);
  }

  /** The process that holds the current database's slot (its {@code active_pid}), or null when none does or there is no such slot. */
  public static String ownSlotHolder(Connection c, String slot) throws SQLException {
    return Sql.string(c, "SELECT active_pid::text FROM pg_replication_slots WHERE slot_name = ?" + THIS_DATABASE, slot);
  }

  /**
   * {@link #ownSlotHolder} once {@code wait} has passed with a process holding the slot, or null as
   * soon as none does: a reader that just stopped lets go of it a moment later.
   */
  public static String ownSlotHolder(Connection c, String slot, Duration wait) throws SQLException {
    return SLOT_POLL.within(wait, () -> ownSlotHolder(c, slot) == null) ? null : ownSlotHolder(c, slot);
  }

  /**
   * Whether the slot of the current database lost WAL it needed ({@code wal_status = 'lost'}, 13+;
   * max_slot_wal_keep_size): no subscription can stream from it again, so it is no slot to arm or
   * resume a direction from.
   */
  public static boolean ownSlotLost(Connection c, String slot) throws SQLException {
    return Sql.majorVersionOf(c) >= 13 && Sql.bool(c, "SELECT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = ?"
        + " AND database = current_database() AND wal_status = 'lost')", slot);
  }

  /**
   * Why the switch to the database {@code c} is connected to opened it without {@code slot}, which
   * reverse --prepare asked it to make (its creation waited too long for other transactions on the
   * server), or null when it did not give it up.
   */
  public static String slotMissedAtSwitch(Connection c, String slot) throws SQLException {
    return Sql.string(c, "SELECT (SELECT q.missed FROM cutover.slot_at_switch q WHERE q.slot_name = ?)"
        + " WHERE EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = 'cutover.slot_at_switch'::regclass"
        + " AND a.attname = 'missed' AND NOT a.attisdropped)", slot);
  }

  /**
   * When the switch that opened the database {@code c} is connected to made {@code slot}, which
   * reverse --prepare asked for, or null when no switch made it (none was asked, or it was given up):
   * the record outlives the slot where a standby promoted since or a restore lost it.
   */
  public static String slotMadeAtSwitch(Connection c, String slot) throws SQLException {
    return Sql.string(c, "SELECT (SELECT date_trunc('milliseconds', q.made_at)::text FROM cutover.slot_at_switch q WHERE q.slot_name = ?)"
        + " WHERE EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = 'cutover.slot_at_switch'::regclass"
        + " AND a.attname = 'made_at' AND NOT a.attisdropped)", slot);
  }

  /** The subscription's slot name, or null. */
  public static String subscriptionSlot(Connection c, String name) throws SQLException {
    return !logical(c) ? null : Sql.string(c, "SELECT subslotname FROM pg_subscription WHERE subname = ?"
        + " AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())", name);
  }

  /**
   * Subscribes {@code c} to {@code publication} through {@code conninfo}, which may carry a
   * password: run so that the server's log does not keep it ({@link PasswordStatements}).
   *
   * @param slot the slot to stream from
   * @param createSlot whether the subscription creates the slot (false: it exists, e.g. made with an exported snapshot)
   * @param originNone whether to skip changes that were themselves replicated (16+; stops loops in two-way setups)
   * @param target which side {@code c} is (the subscription's target)
   */
  public static void createSubscription(Connection c, Side target, String name, String conninfo, String publication, String slot,
      boolean createSlot, boolean originNone) throws SQLException {
    createSubscription(c, target, name, conninfo, publication, slot, createSlot, originNone, true);
  }

  /**
   * {@link #createSubscription(Connection, Side, String, String, String, String, boolean, boolean)}, enabled or not.
   * Installs the heartbeat's gap check on {@code c} first ({@link Heartbeat#installGapCheck}).
   */
  static void createSubscription(Connection c, Side target, String name, String conninfo, String publication, String slot,
      boolean createSlot, boolean originNone, boolean enabled) throws SQLException {
    // Before it applies anything: a beat lost by the target stops its apply (see Heartbeat#installGapCheck).
    Heartbeat.installGapCheck(c, target);
    PasswordStatements.execute(c, "CREATE SUBSCRIPTION " + Sql.ident(name)
        + " CONNECTION " + Sql.literal(conninfo)
        + " PUBLICATION " + Sql.ident(publication)
        + " WITH (create_slot = " + createSlot + ", slot_name = " + Sql.literal(slot)
        + ", copy_data = false, enabled = " + enabled + (originNone ? ", origin = none" : "") + ")");
  }

  /**
   * Drops a subscription but not its slot: the slot is on the other server and is dropped there
   * with {@link #dropSlot}, which can wait for the walsender to let it go.
   *
   * @return whether there was one
   */
  public static boolean dropSubscription(Connection c, String name) throws SQLException {
    if (!subscriptionExists(c, name)) {
      return false;
    }
    String q = Sql.ident(name);
    Sql.execute(c, "ALTER SUBSCRIPTION " + q + " DISABLE");
    Sql.execute(c, "ALTER SUBSCRIPTION " + q + " SET (slot_name = NONE)");
    Sql.execute(c, "DROP SUBSCRIPTION " + q);
    return true;
  }

  public static boolean dropPublication(Connection c, String name) throws SQLException {
    if (!publicationExists(c, name)) {
      return false;
    }
    Sql.execute(c, "DROP PUBLICATION " + Sql.ident(name));
    return true;
  }

  /**
   * Drops a slot of this database (a slot of the same name for another database is left alone).
   * A walsender may hold it for a moment after its subscription went away: this waits up to
   * {@code wait} for it to let go, then terminates the holder (the slot is ours, so is what reads
   * it) and waits up to {@code wait} again, so that it never waits longer than twice {@code wait}.
   *
   * @return whether there was one
   * @throws SQLException with SQLState 55006 when the slot is still held after both waits, or its
   *     holder is a process this role may not terminate
   */
  public static boolean dropSlot(Connection c, String slot, Duration wait) throws SQLException {
    if (!Sql.bool(c, "SELECT count(*) > 0 FROM pg_replication_slots WHERE slot_name = ?" + THIS_DATABASE, slot)) {
      return false;
    }
    if (SLOT_POLL.within(wait, () -> droppedUnlessHeld(c, slot))) {
      return true;
    }
    try {
      Sql.bool(c, "SELECT bool_and(pg_terminate_backend(active_pid)) FROM pg_replication_slots WHERE slot_name = ?"
          + THIS_DATABASE, slot);
    } catch (SQLException refused) {
      if (!INSUFFICIENT_PRIVILEGE.equals(refused.getSQLState())) {
        throw refused;
      }
      throw stillHeld(c, slot, "which this role may not terminate (" + refused.getMessage() + ")", refused);
    }
    if (SLOT_POLL.within(wait, () -> droppedUnlessHeld(c, slot))) {
      return true;
    }
    throw stillHeld(c, slot, wait.toMillis() + " ms after it was terminated", null);
  }

  private static SQLException stillHeld(Connection c, String slot, String why, SQLException cause) throws SQLException {
    String holder = ownSlotHolder(c, slot);
    return new SQLException("Replication slot " + slot + " is still held by process " + holder + ", " + why
        + "; stop what reads it (a subscription or pg_recvlogical; pg_stat_activity shows the process) and run cleanup again",
        OBJECT_IN_USE, cause);
  }

  /** Drops the slot unless a process holds it; whether it is gone. */
  private static boolean droppedUnlessHeld(Connection c, String slot) throws SQLException {
    List<String[]> slots = Sql.rows(c, "SELECT active_pid FROM pg_replication_slots WHERE slot_name = ?" + THIS_DATABASE, slot);
    if (slots.isEmpty()) {
      return true;
    }
    if (slots.get(0)[0] != null) {
      return false;
    }
    try (PreparedStatement ps = c.prepareStatement("SELECT pg_drop_replication_slot(?)")) {
      ps.setString(1, slot);
      ps.execute();
      return true;
    } catch (SQLException e) {
      if (OBJECT_IN_USE.equals(e.getSQLState()) || UNDEFINED_OBJECT.equals(e.getSQLState())) {
        return false; // taken or dropped since it was read: the next look tells
      }
      throw e;
    }
  }

  /** Our slots (name starting with {@code cutover_}) that belong to the current database. */
  public static List<String> ourSlots(Connection c) throws SQLException {
    return Sql.strings(c, "SELECT slot_name FROM pg_replication_slots WHERE slot_name LIKE 'cutover\\_%'"
        + " AND database = current_database() ORDER BY 1");
  }

  public static List<String> ourPublications(Connection c) throws SQLException {
    return !logical(c) ? List.of() : Sql.strings(c, "SELECT pubname FROM pg_publication WHERE pubname LIKE 'cutover\\_%' ORDER BY 1");
  }

  public static List<String> ourSubscriptions(Connection c) throws SQLException {
    return !logical(c) ? List.of() : Sql.strings(c, "SELECT subname FROM pg_subscription WHERE subname LIKE 'cutover\\_%'"
        + " AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database()) ORDER BY 1");
  }

  /** Whether the server has publications and subscriptions at all (10+). */
  private static boolean logical(Connection c) throws SQLException {
    return Sql.majorVersionOf(c) >= 10;
  }
}
