package dev.cutover.driver.control;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Installs and removes the {@code cutover} control schema: the fence, the barrier markers and
 * the functions application roles call to use them. Both operations are idempotent and run in
 * one transaction under an advisory lock, so concurrent installers cannot interleave.
 *
 * <p>Design notes. The fence state is a sequence value, not a table row: sequence reads bypass
 * MVCC, so a REPEATABLE READ transaction that began before the fence still sees it, and
 * sequences are not logically replicated, so raising the fence on one side can never fence the
 * other through a {@code FOR ALL TABLES} publication. The only replicated rows are barrier
 * markers, whose keys are unique per switch. The version is a function, not a row, for the same
 * reason. Every function runs {@code SECURITY DEFINER} with a fixed {@code search_path}, so
 * application roles can raise the fence and write markers without owning anything.
 *
 * <p>Coordination between the instances of a service lives in UNLOGGED tables, which logical
 * replication never publishes: each database has its own heartbeats and switch decisions.
 *
 * <p>Installing needs the owner of the application tables (or a superuser): it adds a
 * statement-level trigger {@code cutover_fence} to every ordinary and partitioned table outside
 * the system schemas. Tables created later are guarded by installing again.
 */
public final class ControlSchema {
  /** The schema version this driver installs and understands. */
  public static final int VERSION = 1;

  public static final String SCHEMA = "cutover";
  static final String TRIGGER = "cutover_fence";
  private static final long INSTALL_LOCK = 0x63_75_74_6f_76_65_72L; // "cutover"
  private static final String LOCK_NOT_AVAILABLE = "55P03";
  private static final String DEADLOCK = "40P01";
  private static final long LOCK_TIMEOUT_MILLIS = 200;
  private static final long FIRST_RETRY_MILLIS = 20;
  private static final long MAX_RETRY_MILLIS = 500;
  private static final int MAX_ATTEMPTS = 50;
  /** Advisory lock class (first key) serialising switch starts of a service. */
  static final int BEGIN_LOCK = 0x63757431;
  /** Advisory lock class (first key) held by the leader of a service's switch. */
  static final int LEADER_LOCK = 0x63757432;

  private static final String[] DEFINITION = {
    "CREATE SCHEMA IF NOT EXISTS cutover",
    "CREATE SEQUENCE IF NOT EXISTS cutover.fence_state MINVALUE 0 MAXVALUE 1 START 0 NO CYCLE",
    "CREATE TABLE IF NOT EXISTS cutover.barrier ("
        + " marker text PRIMARY KEY,"
        + " written_at timestamptz NOT NULL DEFAULT clock_timestamp())",
    "CREATE OR REPLACE FUNCTION cutover.version() RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT " + VERSION + "'",
    "CREATE OR REPLACE FUNCTION cutover.fence_guard() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER"
        + " SET search_path = pg_catalog, pg_temp AS $$\n"
        + "BEGIN\n"
        + "  IF (SELECT last_value FROM cutover.fence_state) = 1 THEN\n"
        + "    RAISE EXCEPTION 'cutover: % on %.% refused: this database is fenced because traffic moved to the other database',"
        + " TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME\n"
        + "      USING ERRCODE = '25006',"
        + " HINT = 'Write through the Cutover driver, which routes to the serving database.';\n"
        + "  END IF;\n"
        + "  RETURN NULL;\n"
        + "END $$",
    "CREATE OR REPLACE FUNCTION cutover.raise_fence(lock_timeout_ms integer) RETURNS integer LANGUAGE plpgsql"
        + " SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$\n"
        + "DECLARE t record; n integer := 0;\n"
        + "BEGIN\n"
        + "  PERFORM setval('cutover.fence_state', 1, true);\n"
        // Writers that passed the guard before the fence hold ROW EXCLUSIVE until they end;
        // SHARE waits for them, so when this returns no pre-fence write can still commit.
        + "  PERFORM set_config('lock_timeout', lock_timeout_ms || 'ms', true);\n"
        + "  FOR t IN SELECT n.nspname, c.relname FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid"
        + " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE g.tgname = '" + TRIGGER + "' ORDER BY c.oid LOOP\n"
        + "    EXECUTE format('LOCK TABLE %I.%I IN SHARE MODE', t.nspname, t.relname);\n"
        + "    n := n + 1;\n"
        + "  END LOOP;\n"
        + "  RETURN n;\n"
        + "END $$",
    // plpgsql, because before 11 an SQL function declared void may not end in a SELECT of a value.
    "CREATE OR REPLACE FUNCTION cutover.lower_fence() RETURNS void LANGUAGE plpgsql SECURITY DEFINER"
        + " SET search_path = pg_catalog, pg_temp AS $$ BEGIN PERFORM setval('cutover.fence_state', 0, true); END $$",
    "CREATE OR REPLACE FUNCTION cutover.fence_raised() RETURNS boolean LANGUAGE sql SECURITY DEFINER"
        + " SET search_path = pg_catalog, pg_temp AS $$ SELECT last_value = 1 FROM cutover.fence_state $$",
    "CREATE OR REPLACE FUNCTION cutover.write_barrier(marker text) RETURNS void LANGUAGE sql SECURITY DEFINER"
        + " SET search_path = pg_catalog, pg_temp AS $$ INSERT INTO cutover.barrier (marker) VALUES (marker) $$",
    "CREATE OR REPLACE FUNCTION cutover.barrier_arrived(marker text) RETURNS boolean LANGUAGE sql SECURITY DEFINER"
        + " SET search_path = pg_catalog, pg_temp AS $$ SELECT EXISTS (SELECT 1 FROM cutover.barrier b WHERE b.marker = $1) $$",
    // Coordination between the instances of a service. UNLOGGED: never published, so each
    // database keeps its own, and a crash simply forgets a switch in progress (it aborts).
    "CREATE UNLOGGED TABLE IF NOT EXISTS cutover.instance ("
        + " service text NOT NULL, instance text NOT NULL,"
        + " heartbeat_at timestamptz NOT NULL DEFAULT clock_timestamp(), drained_for text,"
        + " PRIMARY KEY (service, instance))",
    "CREATE UNLOGGED TABLE IF NOT EXISTS cutover.switch ("
        + " service text PRIMARY KEY, id text NOT NULL, source text NOT NULL, target text NOT NULL,"
        + " state text NOT NULL CHECK (state IN ('draining', 'released', 'aborted')), marker text, reason text,"
        + " updated_at timestamptz NOT NULL DEFAULT clock_timestamp())",
    "CREATE OR REPLACE FUNCTION cutover.heartbeat(p_service text, p_instance text)"
        + " RETURNS TABLE (switch_id text, switch_target text) LANGUAGE plpgsql SECURITY DEFINER"
        + " SET search_path = pg_catalog, pg_temp AS $$\n"
        + "BEGIN\n"
        + "  INSERT INTO cutover.instance AS i (service, instance) VALUES (p_service, p_instance)\n"
        + "    ON CONFLICT (service, instance) DO UPDATE SET heartbeat_at = clock_timestamp();\n"
        + "  RETURN QUERY SELECT s.id, s.target FROM cutover.switch s WHERE s.service = p_service AND s.state = 'draining';\n"
        + "END $$",
    "CREATE OR REPLACE FUNCTION cutover.leave(p_service text, p_instance text) RETURNS void LANGUAGE sql"
        + " SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS"
        + " $$ DELETE FROM cutover.instance WHERE service = p_service AND instance = p_instance $$",
    "CREATE OR REPLACE FUNCTION cutover.begin_switch(p_service text, p_id text, p_source text, p_target text)"
        + " RETURNS text LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$\n"
        + "DECLARE running text;\n"
        + "BEGIN\n"
        + "  PERFORM pg_advisory_xact_lock(" + BEGIN_LOCK + ", hashtext(p_service));\n"
        + "  SELECT s.id INTO running FROM cutover.switch s WHERE s.service = p_service AND s.state = 'draining'\n"
        + "    AND s.source = p_source AND s.target = p_target;\n"
        + "  IF running IS NOT NULL THEN RETURN running; END IF;\n"
        + "  INSERT INTO cutover.switch AS s (service, id, source, target, state)\n"
        + "    VALUES (p_service, p_id, p_source, p_target, 'draining')\n"
        + "    ON CONFLICT (service) DO UPDATE SET id = EXCLUDED.id, source = EXCLUDED.source, target = EXCLUDED.target,\n"
        + "      state = 'draining', marker = NULL, reason = NULL, updated_at = clock_timestamp();\n"
        + "  RETURN p_id;\n"
        + "END $$",
    "CREATE OR REPLACE FUNCTION cutover.drained(p_service text, p_instance text, p_switch text) RETURNS void"
        + " LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$"
        + " INSERT INTO cutover.instance AS i (service, instance, drained_for) VALUES (p_service, p_instance, p_switch)"
        + " ON CONFLICT (service, instance) DO UPDATE SET drained_for = p_switch, heartbeat_at = clock_timestamp() $$",
    "CREATE OR REPLACE FUNCTION cutover.undrained(p_service text, p_switch text, p_ttl_ms integer)"
        + " RETURNS SETOF text LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$"
        + " SELECT i.instance FROM cutover.instance i WHERE i.service = p_service"
        + " AND i.heartbeat_at > clock_timestamp() - p_ttl_ms * interval '1 millisecond'"
        + " AND i.drained_for IS DISTINCT FROM p_switch ORDER BY 1 $$",
    // Live instances not yet ready for a switch: neither marked ready (connections to the target
    // open, gate still open) nor already drained for it.
    "CREATE OR REPLACE FUNCTION cutover.unready(p_service text, p_switch text, p_ttl_ms integer)"
        + " RETURNS SETOF text LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$"
        + " SELECT i.instance FROM cutover.instance i WHERE i.service = p_service"
        + " AND i.heartbeat_at > clock_timestamp() - p_ttl_ms * interval '1 millisecond'"
        + " AND (i.drained_for IS NULL OR i.drained_for NOT IN (p_switch, '" + Coordination.READY + "' || p_switch)) ORDER BY 1 $$",
    "CREATE OR REPLACE FUNCTION cutover.finish_switch(p_service text, p_switch text, p_state text, p_marker text,"
        + " p_reason text) RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$"
        + " UPDATE cutover.switch SET state = p_state, marker = p_marker, reason = p_reason,"
        + " updated_at = clock_timestamp() WHERE service = p_service AND id = p_switch $$",
    "CREATE OR REPLACE FUNCTION cutover.switch_state(p_service text)"
        + " RETURNS TABLE (switch_id text, switch_state text, switch_marker text, switch_reason text)"
        + " LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$"
        + " SELECT s.id, s.state, s.marker, s.reason FROM cutover.switch s WHERE s.service = p_service $$",
    // Slots to create at the switch, after the barrier and before release: a reverse subscription
    // made later from such a slot starts exactly where the target began to take writes, which on
    // versions without origin filtering is the only lossless way back.
    "CREATE UNLOGGED TABLE IF NOT EXISTS cutover.slot_at_switch (slot_name name PRIMARY KEY)",
    "CREATE OR REPLACE FUNCTION cutover.request_slot_at_switch(p_slot name) RETURNS void LANGUAGE sql"
        + " SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS"
        + " $$ INSERT INTO cutover.slot_at_switch VALUES (p_slot) ON CONFLICT DO NOTHING $$",
    "CREATE OR REPLACE FUNCTION cutover.create_slots_at_switch() RETURNS integer LANGUAGE plpgsql"
        + " SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$\n"
        + "DECLARE s name; n integer := 0;\n"
        + "BEGIN\n"
        + "  FOR s IN SELECT r.slot_name FROM cutover.slot_at_switch r WHERE NOT EXISTS\n"
        + "      (SELECT 1 FROM pg_replication_slots p WHERE p.slot_name = r.slot_name) LOOP\n"
        + "    PERFORM pg_create_logical_replication_slot(s, 'pgoutput');\n"
        + "    n := n + 1;\n"
        + "  END LOOP;\n"
        + "  DELETE FROM cutover.slot_at_switch;\n"
        + "  RETURN n;\n"
        + "END $$",
    "REVOKE ALL ON ALL TABLES IN SCHEMA cutover FROM PUBLIC",
    "REVOKE ALL ON ALL SEQUENCES IN SCHEMA cutover FROM PUBLIC",
    "GRANT USAGE ON SCHEMA cutover TO PUBLIC",
  };

  private ControlSchema() {}

  /**
   * Installs or completes the control schema and guards every application table with the fence
   * trigger. Safe while applications write: it waits for a moment when it can lock every table
   * it guards at once (retrying for up to about 20 s).
   *
   * @return the number of tables that were newly guarded
   * @throws SQLException when a newer schema version is installed, or privileges are missing
   */
  public static int install(Connection c) throws SQLException {
    long pause = FIRST_RETRY_MILLIS;
    for (int attempt = 1; ; attempt++) {
      try {
        return inTransaction(c, () -> installOnce(c));
      } catch (SQLException e) {
        boolean busy = LOCK_NOT_AVAILABLE.equals(e.getSQLState()) || DEADLOCK.equals(e.getSQLState());
        if (!busy || attempt >= MAX_ATTEMPTS) {
          throw e;
        }
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(pause + ThreadLocalRandom.current().nextLong(pause)));
        pause = Math.min(MAX_RETRY_MILLIS, pause * 2);
      }
    }
  }

  /**
   * One attempt. Adding a trigger needs SHARE ROW EXCLUSIVE on its table; taken one table after
   * another, a writer whose transaction spans several tables can deadlock with the install. So
   * every table is locked first, in one statement with a short lock timeout: all at once, or none
   * and the caller tries again a moment later. Writers wait at most that long.
   */
  private static int installOnce(Connection c) throws SQLException {
    OptionalInt installed = installedVersion(c);
    if (installed.isPresent() && installed.getAsInt() > VERSION) {
      throw new SQLException("cutover: the control schema on this database is version " + installed.getAsInt()
          + ", newer than this driver's " + VERSION + "; upgrade the driver", "55000");
    }
    try (Statement s = c.createStatement()) {
      List<String> unguarded = unguardedTables(s);
      if (!unguarded.isEmpty()) {
        s.execute("SET LOCAL lock_timeout = '" + LOCK_TIMEOUT_MILLIS + "ms'");
        s.execute("LOCK TABLE " + String.join(", ", unguarded) + " IN SHARE ROW EXCLUSIVE MODE");
      }
      for (String sql : DEFINITION) {
        s.execute(sql);
      }
      for (String table : unguarded) {
        s.execute("CREATE TRIGGER " + TRIGGER + " BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON " + table
            // EXECUTE PROCEDURE: the spelling every version from 9.6 accepts (EXECUTE FUNCTION came with 11).
            + " FOR EACH STATEMENT EXECUTE PROCEDURE cutover.fence_guard()");
      }
      return unguarded.size();
    }
  }

  /** Removes the fence triggers and the schema; does nothing where they are absent. */
  public static void uninstall(Connection c) throws SQLException {
    inTransaction(c, () -> {
      try (Statement s = c.createStatement()) {
        List<String> guarded = new ArrayList<>();
        try (ResultSet rs = s.executeQuery(
            "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid"
                + " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE g.tgname = '" + TRIGGER + "'")) {
          while (rs.next()) {
            guarded.add(rs.getString(1));
          }
        }
        for (String table : guarded) {
          s.execute("DROP TRIGGER IF EXISTS " + TRIGGER + " ON " + table);
        }
        s.execute("DROP SCHEMA IF EXISTS cutover CASCADE");
      }
      return null;
    });
  }

  /** The installed version, or empty when there is no control schema. */
  public static OptionalInt installedVersion(Connection c) throws SQLException {
    try (Statement s = c.createStatement()) {
      try (ResultSet rs = s.executeQuery("SELECT to_regproc('cutover.version') IS NOT NULL")) {
        rs.next();
        if (!rs.getBoolean(1)) {
          return OptionalInt.empty();
        }
      }
      try (ResultSet rs = s.executeQuery("SELECT cutover.version()")) {
        rs.next();
        return OptionalInt.of(rs.getInt(1));
      }
    }
  }

  private static List<String> unguardedTables(Statement s) throws SQLException {
    List<String> tables = new ArrayList<>();
    try (ResultSet rs = s.executeQuery(
        "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            + " WHERE c.relkind IN ('r', 'p') AND c.relpersistence <> 't'"
            + " AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'cutover') AND n.nspname NOT LIKE 'pg\\_%'"
            + " AND NOT EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = c.oid AND g.tgname = '" + TRIGGER + "')"
            + " ORDER BY 1")) {
      while (rs.next()) {
        tables.add(rs.getString(1));
      }
    }
    return tables;
  }

  @FunctionalInterface
  private interface Work<T> {
    T run() throws SQLException;
  }

  private static <T> T inTransaction(Connection c, Work<T> work) throws SQLException {
    boolean autoCommit = c.getAutoCommit();
    c.setAutoCommit(false);
    try {
      try (Statement s = c.createStatement()) {
        s.execute("SELECT pg_advisory_xact_lock(" + INSTALL_LOCK + ")");
      }
      T result = work.run();
      c.commit();
      return result;
    } catch (SQLException | RuntimeException e) {
      c.rollback();
      throw e;
    } finally {
      c.setAutoCommit(autoCommit);
    }
  }
}
