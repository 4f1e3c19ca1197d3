-- The event trigger's function (installed where the role may create event triggers, as schema
-- change capture needs too). A table created on this side after start (CREATE TABLE, a partition,
-- CREATE TABLE AS, SELECT INTO) gets its capture triggers in the transaction that creates it, so no
-- row of it is missed; the rows a CREATE TABLE AS or SELECT INTO computed are logged as inserts
-- right there, after the schema change's own log row (written at ddl_command_start for those),
-- which creates the table on the other side. An altered table (a key added or changed, a column of
-- another type) gets its triggers again, also when schema change capture's own ALTER TABLE (a
-- replica identity it sets or puts back, with cutover.ddl_capture off) changes which key applies.
-- Not for unlogged or temporary tables (neither engine carries them). Fires in every session
-- (ENABLE ALWAYS: a superuser's table made in session_replication_role = replica is captured too),
-- apply sessions included, where a replayed change's tables get their triggers (the way back) but
-- a replayed CREATE TABLE AS's rows are not logged: they are the other side's, which its stream
-- brings. An apply session is known by this side's token (see ApplyToken). Not for the ALTER TABLE
-- of cutover.capture_table itself (cutover.capture_making on), whose triggers it has just made.
CREATE OR REPLACE FUNCTION cutover.capture_new() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $f$
DECLARE
  r record;
  leaf oid;
  fd text;
  ds text;
  ist text;
BEGIN
  IF to_regclass('cutover.capture_state') IS NULL OR current_setting('cutover.capture_making', true) = 'on' THEN
    RETURN;
  END IF;
  FOR r IN SELECT DISTINCT d.objid, d.command_tag, c.relkind, n.nspname, c.relname
      FROM pg_event_trigger_ddl_commands() d JOIN pg_class c ON c.oid = d.objid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE d.classid = 'pg_class'::regclass AND c.relkind IN ('r', 'p') AND c.relpersistence = 'p'
        AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'cutover') AND n.nspname NOT LIKE 'pg\_%' LOOP
    IF r.command_tag = 'ALTER TABLE' THEN
      -- Only tables captured already: the table itself, or the leaves under a partitioned one.
      FOR leaf IN WITH RECURSIVE tree(oid) AS (SELECT r.objid UNION ALL SELECT i.inhrelid FROM pg_inherits i JOIN tree ON i.inhparent = tree.oid)
          SELECT tree.oid FROM tree WHERE EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = tree.oid AND g.tgname = '#cutover_capture') LOOP
        PERFORM cutover.capture_table(leaf, true);
      END LOOP;
    ELSIF r.relkind = 'r' AND NOT EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = r.objid AND g.tgname = '#cutover_capture') THEN
      PERFORM cutover.capture_table(r.objid);
      IF r.command_tag IN ('CREATE TABLE AS', 'SELECT INTO') AND current_setting('cutover.apply_token', true)
          IS DISTINCT FROM (SELECT s.apply_token FROM cutover.capture_state s) THEN
        fd := current_setting('extra_float_digits');
        ds := current_setting('DateStyle');
        ist := current_setting('IntervalStyle');
        PERFORM set_config('extra_float_digits', '3', true);
        PERFORM set_config('DateStyle', 'ISO, MDY', true);
        PERFORM set_config('IntervalStyle', 'postgres', true);
        EXECUTE format('INSERT INTO cutover.change_log_%s (nsp, rel, op, new_row)'
          ' SELECT %L, %L, %L, cutover.json_nulls(t, row_to_json(t), %L) FROM %s t',
          (SELECT s.current_log FROM cutover.capture_state s), r.nspname, r.relname, 'I', cutover.json_columns(r.objid), r.objid::regclass);
        PERFORM set_config('extra_float_digits', fd, true);
        PERFORM set_config('DateStyle', ds, true);
        PERFORM set_config('IntervalStyle', ist, true);
      END IF;
    END IF;
  END LOOP;
END $f$;
REVOKE ALL ON FUNCTION cutover.capture_new() FROM PUBLIC;
DROP EVENT TRIGGER IF EXISTS cutover_capture_new;
CREATE EVENT TRIGGER cutover_capture_new ON ddl_command_end
  WHEN TAG IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO', 'ALTER TABLE') EXECUTE PROCEDURE cutover.capture_new();
ALTER EVENT TRIGGER cutover_capture_new ENABLE ALWAYS;
