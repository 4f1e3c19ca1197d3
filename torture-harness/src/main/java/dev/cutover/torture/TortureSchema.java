package dev.cutover.torture;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * The workload's tables, built so that every invariant can be read back with plain SQL and none
 * needs a clock shared between processes.
 *
 * <ul>
 *   <li>{@code clock}: one row whose {@code tick} every writing transaction increments just before
 *       it commits. The row lock is held until commit, so on one database ticks are handed out in
 *       commit order; the row is replicated, so the side that serves next continues from the last
 *       tick it received. With a single writer (I2) the ticks of all committed transactions on both
 *       sides are exactly 1, 2, ..., n: a gap is a lost commit (I1), a tick taken twice is two
 *       databases accepting writes at once (I2).
 *   <li>{@code ledger}: one row per acknowledged operation, keyed by (instance, op), carrying its
 *       tick, the side it committed on ({@code origin}, a per-database setting evaluated where the
 *       row is inserted and replicated as a value), an id from a sequence and a ticket from a
 *       standalone sequence (I6: neither may repeat).
 *   <li>{@code account}: balances that transfers move between; their sum never changes, and each
 *       balance equals its opening balance plus the transfers in the ledger.
 *   <li>{@code scratch}: rows that stragglers write first and hold uncommitted.
 * </ul>
 */
final class TortureSchema {
  static final String DATABASE = "torture";
  /** The per-database setting naming the side, read by {@code ledger.origin}'s default. */
  static final String SIDE_SETTING = "torture.side";
  /** The role of the external writer: plain grants, no ownership, not the driver's. */
  static final String EXTERNAL_ROLE = "torture_external";
  static final int ACCOUNTS = 16;
  static final long OPENING_BALANCE = 1_000_000;
  static final long TOTAL = ACCOUNTS * OPENING_BALANCE;

  private static final String[] TABLES = {
    "CREATE TABLE account (id int PRIMARY KEY, balance bigint NOT NULL)",
    "CREATE TABLE clock (id int PRIMARY KEY CHECK (id = 1), tick bigint NOT NULL)",
    "CREATE SEQUENCE ticket_seq",
    "CREATE TABLE ledger (id bigserial PRIMARY KEY, instance text NOT NULL, op bigint NOT NULL, kind text NOT NULL,"
        + " tick bigint NOT NULL, origin text NOT NULL DEFAULT current_setting('" + SIDE_SETTING + "'),"
        + " ticket bigint NOT NULL DEFAULT nextval('ticket_seq'), from_account int, to_account int,"
        + " amount bigint NOT NULL DEFAULT 0, UNIQUE (instance, op))",
    "CREATE INDEX ledger_tick ON ledger (tick)",
    "CREATE INDEX ledger_ticket ON ledger (ticket)",
    "CREATE TABLE scratch (instance text NOT NULL, op bigint NOT NULL, PRIMARY KEY (instance, op))",
  };

  /**
   * The one statement that records an operation: takes the next tick and inserts the ledger row.
   * Parameters: instance, op, kind, from account, to account, amount. Returns id, tick, ticket,
   * origin, and the backend and transaction that ran it (I3).
   */
  static final String RECORD = "WITH t AS (UPDATE clock SET tick = tick + 1 WHERE id = 1 RETURNING tick)"
      + " INSERT INTO ledger (instance, op, kind, tick, from_account, to_account, amount)"
      + " SELECT ?, ?, ?, t.tick, ?, ?, ? FROM t"
      + " RETURNING id, tick, ticket, origin, pg_backend_pid(), txid_current()";

  /** {@link #RECORD} without results, for batches. */
  static final String RECORD_QUIETLY = "WITH t AS (UPDATE clock SET tick = tick + 1 WHERE id = 1 RETURNING tick)"
      + " INSERT INTO ledger (instance, op, kind, tick, from_account, to_account, amount)"
      + " SELECT ?, ?, ?, t.tick, ?, ?, ? FROM t";

  /** Moves money: parameters amount (signed) and account; returns the side, backend and transaction. */
  static final String MOVE = "UPDATE account SET balance = balance + ? WHERE id = ?"
      + " RETURNING current_setting('" + SIDE_SETTING + "'), pg_backend_pid(), txid_current()";

  /** Where a statement of the current transaction runs: side, backend and transaction (I3). */
  static final String WHERE_AM_I = "SELECT current_setting('" + SIDE_SETTING + "'), pg_backend_pid(), txid_current()";

  /** An instance's rows for some of its ops (read your writes, I4). */
  static final String OWN_ROWS = "SELECT op, id, tick, ticket, origin, kind FROM ledger WHERE instance = ? AND op = ANY(?)";

  static final String SUM = "SELECT sum(balance), count(*), current_setting('" + SIDE_SETTING + "') FROM account";

  private TortureSchema() {}

  /** Creates the tables on one side (the database exists) and names the side for {@code origin}. */
  static void create(Connection c, String side) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute("ALTER DATABASE " + DATABASE + " SET " + SIDE_SETTING + " = '" + side + "'");
      for (String sql : TABLES) {
        s.execute(sql);
      }
      s.execute("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '" + EXTERNAL_ROLE + "') THEN"
          + " CREATE ROLE " + EXTERNAL_ROLE + " LOGIN; END IF; END $$");
      s.execute("GRANT SELECT, INSERT ON ledger TO " + EXTERNAL_ROLE);
      s.execute("GRANT SELECT, UPDATE ON clock TO " + EXTERNAL_ROLE);
      s.execute("GRANT USAGE ON SEQUENCE ledger_id_seq, ticket_seq TO " + EXTERNAL_ROLE);
    }
  }

  /** The opening state, on old only: the replicator copies it to new. */
  static void seed(Connection old) throws SQLException {
    try (Statement s = old.createStatement()) {
      s.execute("INSERT INTO account SELECT g, " + OPENING_BALANCE + " FROM generate_series(1, " + ACCOUNTS + ") g");
      s.execute("INSERT INTO clock VALUES (1, 0)");
    }
  }
}
