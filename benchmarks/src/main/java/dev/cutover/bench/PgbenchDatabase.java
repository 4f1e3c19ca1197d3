package dev.cutover.bench;

import dev.cutover.replicator.replication.KeylessTables;
import dev.cutover.replicator.sql.TableName;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A database shaped like {@code pgbench -i}: accounts, tellers, branches and history, with one
 * branch and ten tellers per 100,000 accounts (pgbench's scale), generated with
 * {@code generate_series} so no pgbench binary is needed. Optionally three secondary indexes on
 * accounts, which is what makes a copy into an indexed schema slow.
 *
 * <p>Unlike pgbench, {@code abalance} is spread over 100,000 values instead of all zero, so that
 * the index on it has to be sorted for real when it is built.
 */
final class PgbenchDatabase {
  static final int ACCOUNTS_PER_BRANCH = 100_000;
  static final int TELLERS_PER_BRANCH = 10;
  static final List<String> TABLES = List.of("pgbench_branches", "pgbench_tellers", "pgbench_accounts", "pgbench_history");
  /** pgbench_history has no key, as in pgbench; it is only inserted into, so REPLICA IDENTITY FULL costs nothing. */
  static final KeylessTables HISTORY_FULL = KeylessTables.full(java.util.Set.of(new TableName("public", "pgbench_history")));

  private static final String[] TABLE_DDL = {
      "CREATE TABLE pgbench_branches (bid int NOT NULL, bbalance int, filler char(88))",
      "CREATE TABLE pgbench_tellers (tid int NOT NULL, bid int, tbalance int, filler char(84))",
      "CREATE TABLE pgbench_accounts (aid int NOT NULL, bid int, abalance int, filler char(84))",
      "CREATE TABLE pgbench_history (tid int, bid int, aid int, delta int, mtime timestamp, filler char(22))"};
  private static final String[] KEY_DDL = {
      "ALTER TABLE pgbench_branches ADD PRIMARY KEY (bid)",
      "ALTER TABLE pgbench_tellers ADD PRIMARY KEY (tid)",
      "ALTER TABLE pgbench_accounts ADD PRIMARY KEY (aid)"};
  private static final String[] SECONDARY_DDL = {
      "CREATE INDEX pgbench_accounts_bid ON pgbench_accounts (bid)",
      "CREATE INDEX pgbench_accounts_abalance ON pgbench_accounts (abalance)",
      "CREATE INDEX pgbench_accounts_bid_abalance ON pgbench_accounts (bid, abalance)"};

  private final long accounts;
  private final boolean secondaryIndexes;

  PgbenchDatabase(long accounts, boolean secondaryIndexes) {
    if (accounts < 1 || accounts > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("accounts must be between 1 and " + Integer.MAX_VALUE + ", not " + accounts);
    }
    this.accounts = accounts;
    this.secondaryIndexes = secondaryIndexes;
  }

  long accounts() {
    return accounts;
  }

  int branches() {
    return (int) Math.max(1, (accounts + ACCOUNTS_PER_BRANCH - 1) / ACCOUNTS_PER_BRANCH);
  }

  int tellers() {
    return branches() * TELLERS_PER_BRANCH;
  }

  /** Indexes on accounts, primary key included. */
  int accountIndexes() {
    return secondaryIndexes ? 1 + SECONDARY_DDL.length : 1;
  }

  /** The empty schema with every key and index in place, as a target of a copy. */
  void createSchema(Connection c) throws SQLException {
    try (Statement s = c.createStatement()) {
      for (String sql : TABLE_DDL) {
        s.execute(sql);
      }
      createIndexes(s);
    }
  }

  /** The schema and its rows; keys and indexes are built after the load, then VACUUM ANALYZE. */
  void createAndFill(Connection c) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute("SET maintenance_work_mem = '256MB'");
      for (String sql : TABLE_DDL) {
        s.execute(sql);
      }
      s.execute("INSERT INTO pgbench_branches (bid, bbalance, filler) SELECT b, 0, '' FROM generate_series(1, " + branches() + ") b");
      s.execute("INSERT INTO pgbench_tellers (tid, bid, tbalance, filler)"
          + " SELECT t, (t - 1) / " + TELLERS_PER_BRANCH + " + 1, 0, '' FROM generate_series(1, " + tellers() + ") t");
      s.execute("INSERT INTO pgbench_accounts (aid, bid, abalance, filler)"
          + " SELECT a, (a - 1) / " + ACCOUNTS_PER_BRANCH + " + 1, ((a::bigint * 7919) % 100000)::int - 50000, ''"
          + " FROM generate_series(1, " + accounts + ") a");
      createIndexes(s);
      // Sets hint bits and the visibility map now, so that no copy method pays for it.
      s.execute("VACUUM ANALYZE");
      s.execute("CHECKPOINT");
    }
  }

  private void createIndexes(Statement s) throws SQLException {
    for (String sql : KEY_DDL) {
      s.execute(sql);
    }
    if (secondaryIndexes) {
      for (String sql : SECONDARY_DDL) {
        s.execute(sql);
      }
    }
  }

  /** Rows per table, in {@link #TABLES} order. */
  static Map<String, Long> rowCounts(Connection c) throws SQLException {
    Map<String, Long> counts = new LinkedHashMap<>();
    try (Statement s = c.createStatement()) {
      for (String table : TABLES) {
        try (ResultSet rs = s.executeQuery("SELECT count(*) FROM " + table)) {
          rs.next();
          counts.put(table, rs.getLong(1));
        }
      }
    }
    return counts;
  }

  /** Indexes on pgbench_accounts, primary key included. */
  static int accountIndexCount(Connection c) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_indexes WHERE tablename = 'pgbench_accounts'")) {
      rs.next();
      return rs.getInt(1);
    }
  }

  /** Heap, indexes and TOAST of the four tables, in bytes. */
  static long totalBytes(Connection c) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT sum(pg_total_relation_size(t::regclass)) FROM unnest(ARRAY['"
            + String.join("','", TABLES) + "']) t")) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
