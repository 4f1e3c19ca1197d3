package dev.cutover.replicator.copy;

import dev.cutover.driver.control.ControlSchema;
import dev.cutover.replicator.sql.Sql;
import dev.cutover.replicator.sql.TableName;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What a {@code start} has done so far, kept on new so that {@code start --resume} can continue
 * after the process died: the slot and its consistent point, the indexes and foreign keys set aside
 * (their definitions are gone from new's catalog once dropped), and every chunk copied, recorded in
 * the transaction that commits its rows, so a chunk is recorded exactly when its rows are in.
 *
 * <p>The progress (slot, chunks) is UNLOGGED: cheap to write, and a crash of new's server itself
 * empties it, and then start cannot resume (it says so). What was set aside is logged, since new's
 * schema depends on it: it survives such a crash, for {@code cleanup} or the next {@code start} to
 * put back ({@link LeftAside}), and is dropped once nothing is set aside any more.
 */
public final class StartState {
  private static final String[] DEFINITION = {
    "CREATE UNLOGGED TABLE IF NOT EXISTS cutover.start_state (key text PRIMARY KEY, value text NOT NULL)",
    "CREATE UNLOGGED TABLE IF NOT EXISTS cutover.start_chunks (table_schema name, table_name name, chunk int, chunks int NOT NULL,"
        + " rows bigint NOT NULL, bytes bigint NOT NULL, millis bigint NOT NULL, PRIMARY KEY (table_schema, table_name, chunk))",
    "CREATE TABLE IF NOT EXISTS cutover.start_indexes (ord int PRIMARY KEY, dropped boolean NOT NULL,"
        + " table_schema name NOT NULL, table_name name NOT NULL, name name NOT NULL, is_constraint boolean NOT NULL,"
        + " create_sql text NOT NULL, attach_sql text, drop_sql text NOT NULL, bytes bigint NOT NULL)",
    "CREATE TABLE IF NOT EXISTS cutover.start_identity (table_schema name, table_name name, clause text NOT NULL,"
        + " PRIMARY KEY (table_schema, table_name))",
    "CREATE TABLE IF NOT EXISTS cutover.start_keys (ord int PRIMARY KEY, table_schema name NOT NULL,"
        + " table_name name NOT NULL, name name NOT NULL, definition text NOT NULL)",
  };
  private static final String PROGRESS = "cutover.start_state, cutover.start_chunks";
  private static final String ASIDE = "cutover.start_indexes, cutover.start_identity, cutover.start_keys";

  /**
   * A table whose every chunk was copied.
   *
   * @param millis the copy's time, summed over its chunks
   */
  public record CopiedTable(TableName table, long rows, long bytes, long millis) {}

  /**
   * What an interrupted start left.
   *
   * @param slot its slot on old
   * @param consistentPoint where that slot's stream begins
   * @param copied the tables it copied completely
   * @param aside the indexes it set aside, to build
   * @param largeObjectsCopied whether it copied every large object
   */
  public record Recorded(String slot, String consistentPoint, List<CopiedTable> copied, IndexSetAside aside,
      boolean largeObjectsCopied) {}

  private StartState() {}

  /**
   * Creates the tables (idempotent) and forgets any earlier start; records the slot, its point and
   * whether new relays the slot ({@code --capture relay}) instead of subscribing to it.
   */
  public static void begin(Connection nw, String slot, String consistentPoint, boolean relay) throws SQLException {
    begin(nw);
    put(nw, "slot", slot);
    put(nw, "consistent_point", consistentPoint);
    if (relay) {
      put(nw, "engine", "relay");
    }
  }

  /**
   * Creates the tables (idempotent) and forgets any earlier start, recording nothing to resume from:
   * for a start of trigger capture, which cannot be resumed, but what it sets aside on new must be
   * found again if it dies.
   */
  public static void begin(Connection nw) throws SQLException {
    for (String sql : DEFINITION) {
      Sql.execute(nw, sql);
    }
    ControlSchema.seal(nw);
    Sql.execute(nw, "TRUNCATE " + PROGRESS + ", " + ASIDE);
  }

  /** Whether the recorded start was one of relayed logical replication, which resumes into a relay position, not a subscription. */
  public static boolean relayed(Connection nw) throws SQLException {
    return "relay".equals(get(nw, "engine"));
  }

  /** Records what is set aside, before it is dropped. */
  public static void recordAside(Connection nw, IndexSetAside aside) throws SQLException {
    int ord = 0;
    List<IndexSetAside.Definition> rebuild = aside.rebuild();
    try (PreparedStatement ps = nw.prepareStatement("INSERT INTO cutover.start_indexes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
      for (List<IndexSetAside.Definition> list : List.of(aside.dropped(), rebuild)) {
        for (IndexSetAside.Definition d : list) {
          ps.setInt(1, ord++);
          ps.setBoolean(2, list != rebuild);
          ps.setString(3, d.table().schema());
          ps.setString(4, d.table().name());
          ps.setString(5, d.name());
          ps.setBoolean(6, d.constraint());
          ps.setString(7, d.createSql());
          ps.setString(8, d.attachSql());
          ps.setString(9, d.dropSql());
          ps.setLong(10, d.bytes());
          ps.addBatch();
        }
      }
      ps.executeBatch();
    }
    try (PreparedStatement ps = nw.prepareStatement("INSERT INTO cutover.start_identity VALUES (?, ?, ?)")) {
      for (Map.Entry<TableName, String> e : aside.replicaIdentity().entrySet()) {
        ps.setString(1, e.getKey().schema());
        ps.setString(2, e.getKey().name());
        ps.setString(3, e.getValue());
        ps.addBatch();
      }
      ps.executeBatch();
    }
  }

  /** Records the foreign keys set aside, before they are dropped. */
  public static void recordKeys(Connection nw, ForeignKeySetAside keys) throws SQLException {
    int ord = 0;
    try (PreparedStatement ps = nw.prepareStatement("INSERT INTO cutover.start_keys VALUES (?, ?, ?, ?, ?)")) {
      for (ForeignKeySetAside.Key k : keys.keys()) {
        ps.setInt(1, ord++);
        ps.setString(2, k.table().schema());
        ps.setString(3, k.table().name());
        ps.setString(4, k.name());
        ps.setString(5, k.definition());
        ps.addBatch();
      }
      ps.executeBatch();
    }
  }

  /** Records one copied chunk in the caller's transaction, the one that commits its rows. */
  static void recordChunk(Connection nw, TableName table, int chunk, int chunks, long rows, long bytes, long millis) throws SQLException {
    try (PreparedStatement ps = Sql.prepare(nw, "INSERT INTO cutover.start_chunks VALUES (?, ?, ?, ?, ?, ?, ?)",
        table.schema(), table.name(), chunk, chunks, rows, bytes, millis)) {
      ps.executeUpdate();
    }
  }

  /** Records that every large object was copied, in the caller's transaction. */
  static void recordLargeObjects(Connection nw) throws SQLException {
    put(nw, "large_objects", "copied");
  }

  /** Whether an interrupted start left its record on new. */
  public static boolean exists(Connection nw) throws SQLException {
    return Sql.relationExists(nw, "cutover.start_state") && Sql.string(nw, "SELECT value FROM cutover.start_state WHERE key = 'slot'") != null;
  }

  public static Recorded read(Connection nw) throws SQLException {
    List<CopiedTable> copied = new ArrayList<>();
    try (PreparedStatement ps = nw.prepareStatement("SELECT table_schema, table_name, sum(rows), sum(bytes), sum(millis)"
        + " FROM cutover.start_chunks GROUP BY 1, 2 HAVING count(*) = max(chunks) ORDER BY 1, 2"); ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        copied.add(new CopiedTable(new TableName(rs.getString(1), rs.getString(2)), rs.getLong(3), rs.getLong(4), rs.getLong(5)));
      }
    }
    return new Recorded(get(nw, "slot"), get(nw, "consistent_point"), copied, aside(nw), "copied".equals(get(nw, "large_objects")));
  }

  /**
   * The role that wrote the record of what was set aside (the owner of its tables), where it is not
   * the current user: its statements are that role's, not to be run with more rights than it has.
   */
  public static Optional<String> recordedByAnother(Connection nw) throws SQLException {
    return Sql.rows(nw, "SELECT pg_catalog.pg_get_userbyid(c.relowner) FROM pg_catalog.pg_class c WHERE c.oid ="
        + " coalesce(pg_catalog.to_regclass('cutover.start_indexes'), pg_catalog.to_regclass('cutover.start_keys'))"
        + " AND c.relowner <> (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user)").stream().map(r -> r[0]).findFirst();
  }

  /** The indexes recorded as set aside (empty where no start recorded any). */
  static IndexSetAside aside(Connection nw) throws SQLException {
    if (!Sql.relationExists(nw, "cutover.start_indexes")) {
      return IndexSetAside.none();
    }
    List<IndexSetAside.Definition> dropped = new ArrayList<>();
    List<IndexSetAside.Definition> rebuild = new ArrayList<>();
    try (PreparedStatement ps = nw.prepareStatement("SELECT dropped, table_schema, table_name, name, is_constraint, create_sql,"
        + " attach_sql, drop_sql, bytes FROM cutover.start_indexes ORDER BY ord"); ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        IndexSetAside.Definition d = new IndexSetAside.Definition(new TableName(rs.getString(2), rs.getString(3)), rs.getString(4),
            rs.getBoolean(5), rs.getString(6), rs.getString(7), rs.getString(8), rs.getLong(9));
        (rs.getBoolean(1) ? dropped : rebuild).add(d);
      }
    }
    Map<TableName, String> identity = new LinkedHashMap<>();
    try (PreparedStatement ps = nw.prepareStatement("SELECT table_schema, table_name, clause FROM cutover.start_identity");
        ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        identity.put(new TableName(rs.getString(1), rs.getString(2)), rs.getString(3));
      }
    }
    return IndexSetAside.of(dropped, rebuild, identity);
  }

  /** The foreign keys recorded as set aside (empty where no start recorded any). */
  static List<ForeignKeySetAside.Key> keys(Connection nw) throws SQLException {
    List<ForeignKeySetAside.Key> keys = new ArrayList<>();
    if (Sql.relationExists(nw, "cutover.start_keys")) {
      for (String[] row : Sql.rows(nw, "SELECT table_schema, table_name, name, definition FROM cutover.start_keys ORDER BY ord")) {
        keys.add(new ForeignKeySetAside.Key(new TableName(row[0], row[1]), row[2], row[3]));
      }
    }
    return keys;
  }

  /** Forgets the record once start has subscribed: nothing is left to resume. */
  public static void finish(Connection nw) throws SQLException {
    if (Sql.relationExists(nw, "cutover.start_state")) {
      Sql.execute(nw, "TRUNCATE " + PROGRESS);
    }
    forgetAside(nw);
  }

  /**
   * Forgets what was set aside, once it is back on new or built: its tables are dropped, so that a
   * {@code FOR ALL TABLES} publication made on new later (the way back) never lists them.
   */
  public static void forgetAside(Connection nw) throws SQLException {
    Sql.execute(nw, "DROP TABLE IF EXISTS " + ASIDE);
  }

  private static void put(Connection nw, String key, String value) throws SQLException {
    try (PreparedStatement ps = Sql.prepare(nw, "INSERT INTO cutover.start_state VALUES (?, ?) ON CONFLICT (key) DO UPDATE"
        + " SET value = excluded.value", key, value)) {
      ps.executeUpdate();
    }
  }

  private static String get(Connection nw, String key) throws SQLException {
    return Sql.string(nw, "SELECT value FROM cutover.start_state WHERE key = ?", key);
  }
}
