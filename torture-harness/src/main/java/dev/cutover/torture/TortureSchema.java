package dev.cutover.torture;

import dev.cutover.replicator.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * The workload's tables, built so that every invariant can be read back with plain SQL and none
 * needs a clock shared between processes.
 *
 * <ul>
 *   <li>{@code torture_side()}: on each database a function returning its side ({@code old} or
 *       {@code new}); rows record where they were inserted with it.
 *   <li>{@code clock}: one row whose {@code tick} every writing transaction increments just before
 *       it commits. The row lock is held until commit, so on one database ticks are handed out in
 *       commit order; the row is replicated, so the side that serves next continues from the last
 *       tick it received. With a single writer (I2) the ticks of all committed transactions on both
 *       sides are exactly 1, 2, ..., n: a gap is a lost commit (I1), a tick taken twice is two
 *       databases accepting writes at once (I2).
 *   <li>{@code ledger}: one row per acknowledged operation, keyed by (instance, op), carrying its
 *       tick, the side it committed on ({@code origin}, evaluated where the row is inserted and
 *       replicated as a value), an id from a sequence and a ticket from a standalone sequence (I6:
 *       neither may repeat).
 *   <li>{@code account}: balances that transfers move between; their sum never changes, and each
 *       balance equals its opening balance plus the transfers in the ledger.
 *   <li>{@code scratch}: rows that stragglers write first and hold uncommitted.
 * </ul>
 */
final class TortureSchema {
  static final String DATABASE = "torture";
  /**
   * The side a statement runs on: a function each database defines for itself (schema is not
   * replicated), so no session state can change what it says.
   */
  static final String SIDE = "torture_side()";
  /**
   * The same as a database-level setting ({@code ALTER DATABASE ... SET}): a session on the other
   * side that reports a different value carries it from where it was (see the instances' findings).
   */
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
        + " tick bigint NOT NULL, origin text NOT NULL DEFAULT " + SIDE + ","
        + " ticket bigint NOT NULL DEFAULT nextval('ticket_seq'), from_account int, to_account int,"
        + " amount bigint NOT NULL DEFAULT 0, UNIQUE (instance, op))",
    "CREATE INDEX ledger_tick ON ledger (tick)",
    "CREATE INDEX ledger_ticket ON ledger (ticket)",
    "CREATE TABLE scratch (instance text NOT NULL, op bigint NOT NULL, PRIMARY KEY (instance, op))",
  };

  /**
   * The one statement that records an operation: takes the next tick and inserts the ledger row.
   * Parameters: instance, op, kind, from account, to account, amount. Returns id, tick, ticket,
   * origin, the backend and transaction that ran it (I3), and the session's {@link #SIDE_SETTING}.
   */
  static final String RECORD = "WITH t AS (UPDATE clock SET tick = tick + 1 WHERE id = 1 RETURNING tick)"
      + " INSERT INTO ledger (instance, op, kind, tick, from_account, to_account, amount)"
      + " SELECT ?, ?, ?, t.tick, ?, ?, ? FROM t"
      + " RETURNING id, tick, ticket, origin, pg_backend_pid(), txid_current(), current_setting('" + SIDE_SETTING + "', true)";

  /** {@link #RECORD} without results, for batches. */
  static final String RECORD_QUIETLY = "WITH t AS (UPDATE clock SET tick = tick + 1 WHERE id = 1 RETURNING tick)"
      + " INSERT INTO ledger (instance, op, kind, tick, from_account, to_account, amount)"
      + " SELECT ?, ?, ?, t.tick, ?, ?, ? FROM t";

  /** Where a statement runs: side, backend, transaction (I3), and the session's {@link #SIDE_SETTING}. */
  private static final String WHERE = SIDE + ", pg_backend_pid(), txid_current(), current_setting('" + SIDE_SETTING + "', true)";

  /** Moves money: parameters amount (signed) and account; returns {@link #WHERE}. */
  static final String MOVE = "UPDATE account SET balance = balance + ? WHERE id = ? RETURNING " + WHERE;

  /** Where a statement of the current transaction runs. */
  static final String WHERE_AM_I = "SELECT " + WHERE;

  /** The straggler's first write, held uncommitted; parameters instance and op; returns {@link #WHERE}. */
  static final String HOLD = "INSERT INTO scratch (instance, op) VALUES (?, ?) RETURNING " + WHERE;

  /** An instance's rows for some of its ops (read your writes, I4). */
  static final String OWN_ROWS = "SELECT op, id, tick, ticket, origin, kind FROM ledger WHERE instance = ? AND op = ANY(?)";

  static final String SUM = "SELECT sum(balance), count(*), " + SIDE + " FROM account";

  private TortureSchema() {}

  /** Creates the tables on one side (the database exists) and names the side for {@code origin}. */
  static void create(Connection c, String side) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute("ALTER DATABASE " + DATABASE + " SET " + SIDE_SETTING + " = " + Sql.literal(side));
      s.execute("CREATE FUNCTION " + SIDE + " RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT " + Sql.literal(side) + "::text $$");
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
