package dev.cutover.driver.control;

import dev.cutover.driver.internal.control.Coordination;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * The control schema as version 1 of the driver installed it (every function executable by
 * PUBLIC, a 0/1 fence), to test the upgrade in place. Copied from that version; not maintained.
 */
final class VersionOne {
  static final String[] DEFINITION = {
    "CREATE SCHEMA IF NOT EXISTS cutover",
    "CREATE SEQUENCE IF NOT EXISTS cutover.fence_state MINVALUE 0 MAXVALUE 1 START 0 NO CYCLE",
    "CREATE TABLE IF NOT EXISTS cutover.barrier ("
        + " marker text PRIMARY KEY,"
        + " written_at timestamptz NOT NULL DEFAULT clock_timestamp())",
    "CREATE OR REPLACE FUNCTION cutover.version() RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT 1'",
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
        + " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE g.tgname = 'cutover_fence' ORDER BY c.oid LOOP\n"
        + "    EXECUTE format('LOCK TABLE %I.%I IN SHARE MODE', t.nspname, t.relname);\n"
        + "    n := n + 1;\n"
        + "  END LOOP;\n"
        + "  RETURN n;\n"
        + "END $$",
    "CREATE OR REPLACE FUNCTION cutover.lower_fence() RETURNS void LANGUAGE sql SECURITY DEFINER"
        + " SET search_path = pg_catalog, pg_temp AS $$ SELECT setval('cutover.fence_state', 0, true) $$",
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
        + "  PERFORM pg_advisory_xact_lock(1668641841, hashtext(p_service));\n"
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
        + " AND (i.drained_for IS NULL OR i.drained_for NOT IN (p_switch, 'ready:' || p_switch)) ORDER BY 1 $$",
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

  private VersionOne() {}

  /** Installs version 1 and guards {@code tables}, as its install did. */
  static void install(Connection c, String... tables) throws SQLException {
    try (Statement s = c.createStatement()) {
      for (String sql : DEFINITION) {
        s.execute(sql);
      }
      for (String table : tables) {
        s.execute("CREATE TRIGGER cutover_fence BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON " + table
            + " FOR EACH STATEMENT EXECUTE FUNCTION cutover.fence_guard()");
      }
    }
  }
}
