-- Trigger capture: which tables carry capture triggers, and with which arguments (installed on the
-- source of each direction by CaptureSchema.install; removed by cleanup). See CaptureSchema.java.

-- A table's columns that hold json or jsonb, in order, each name after a sign saying where:
-- '?' the column is json or jsonb itself, '#' a domain over it (at any depth), '!' it is inside an
-- array or a composite (at any depth, through domains too). The argument of cutover.json_nulls,
-- which marks the JSON nulls row_to_json prints as it prints SQL NULL ('?', '#'), or logs the
-- column's own text ('!', where no column name can mark an element or a field). First, and
-- whatever else they hold, '=' columns holding at any depth a type with a cast to json, which
-- row_to_json prints through that cast rather than as the type's text (hstore's is an object,
-- which hstore's input refuses): always logged as their own text. As row_to_json decides: a type
-- that is not built in, a domain's base, not an array or a composite, with a cast by function.
-- Also '=' where the capture logs structured values as text (capture_state.structured_as_text, for
-- a way back into 9.6): a column that is an array or a composite, or a domain over one. Columns
-- that hold an array at any depth follow the '=' ones, signed '[' (no json inside) or '*' (json
-- inside, otherwise as '!'): row_to_json prints an array as a JSON array, without its bounds, so
-- where the row's text shows an array whose lower bounds are not all 1 ('[0:2]={10,20,30}'), they
-- are logged as their own text.
CREATE OR REPLACE FUNCTION cutover.json_columns(rel pg_catalog.regclass) RETURNS text[] LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp AS $f$
  SELECT array(
    WITH RECURSIVE d(attnum, attname, oid, domain, nested) AS (
      SELECT a.attnum, a.attname::text, a.atttypid, false, false FROM pg_attribute a
        WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped
      UNION ALL SELECT d.attnum, d.attname, s.oid, d.domain OR s.domain, d.nested OR NOT s.domain
        FROM d JOIN pg_type y ON y.oid = d.oid, LATERAL (
          SELECT y.typbasetype, true WHERE y.typbasetype <> 0
          UNION ALL SELECT y.typelem, false WHERE y.typelem <> 0 AND y.typlen = -1
          UNION ALL SELECT f.atttypid, false FROM pg_attribute f WHERE y.typrelid <> 0 AND f.attrelid = y.typrelid
            AND f.attnum > 0 AND NOT f.attisdropped) s(oid, domain))
    SELECT CASE WHEN bool_or(x.as_text) THEN '=' WHEN bool_or(x.json AND d.nested) THEN (CASE WHEN bool_or(x.arr) THEN '*' ELSE '!' END)
        WHEN bool_or(x.arr) THEN '[' WHEN bool_or(x.json AND d.domain) THEN '#' ELSE '?' END || d.attname
      FROM d JOIN pg_type y ON y.oid = d.oid, LATERAL (SELECT (d.oid >= 16384 AND y.typtype NOT IN ('d', 'c')
          AND NOT (y.typelem <> 0 AND y.typlen = -1) AND EXISTS (SELECT 1 FROM pg_cast k
            WHERE k.castsource = y.oid AND k.casttarget = 114 AND k.castmethod = 'f'))
        OR (NOT d.nested AND (y.typtype = 'c' OR (y.typelem <> 0 AND y.typlen = -1))
          AND coalesce((SELECT s.structured_as_text FROM cutover.capture_state s), false)),
        d.oid IN (114, 3802), y.typelem <> 0 AND y.typlen = -1) x(as_text, json, arr)
      WHERE x.json OR x.as_text OR x.arr GROUP BY d.attnum, d.attname
      ORDER BY CASE WHEN bool_or(x.as_text) THEN 0 WHEN bool_or(x.arr) THEN 1 ELSE 2 END, d.attnum)
$f$;
REVOKE ALL ON FUNCTION cutover.json_columns(pg_catalog.regclass) FROM PUBLIC;

-- Every type a table's columns hold, at any depth: each column's, a domain's base, an array's
-- element, a composite's fields.
CREATE OR REPLACE FUNCTION cutover.types_within(rel pg_catalog.regclass) RETURNS oid[] LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp AS $f$
  SELECT array(
    WITH RECURSIVE t(oid) AS (
      SELECT a.atttypid FROM pg_attribute a WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped
      UNION SELECT u.next FROM t JOIN pg_type y ON y.oid = t.oid, LATERAL (
        SELECT y.typbasetype WHERE y.typbasetype <> 0
        UNION ALL SELECT y.typelem WHERE y.typelem <> 0 AND y.typlen = -1
        UNION ALL SELECT f.atttypid FROM pg_attribute f WHERE y.typrelid <> 0 AND f.attrelid = y.typrelid AND f.attnum > 0
          AND NOT f.attisdropped) u(next))
    SELECT t.oid FROM t)
$f$;
REVOKE ALL ON FUNCTION cutover.types_within(pg_catalog.regclass) FROM PUBLIC;

-- The types of a table's columns, at any depth, that row_to_json prints through a cast to json
-- where one exists (as cutover.json_columns finds them: not built in, a domain's base, not an
-- array or a composite) and whose owner is neither the capture functions' owner nor a superuser.
-- The capture functions run as their owner (SECURITY DEFINER), and a cast runs as whoever calls
-- it: a cast such an owner created would run its code as the capture's owner. So the capture of a
-- table with such types (flag u, the types an argument) looks for one at every row and refuses
-- the write (cutover.refuse_casts), and cutover.capture_table refuses to make its triggers while
-- one exists. Only a type's owner (or a superuser) may create a cast from it.
CREATE OR REPLACE FUNCTION cutover.others_types(rel pg_catalog.regclass) RETURNS oid[] LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp AS $f$
  SELECT array(
    SELECT y.oid FROM pg_type y WHERE y.oid = ANY (cutover.types_within(rel))
        AND y.oid >= 16384 AND y.typtype NOT IN ('d', 'c') AND NOT (y.typelem <> 0 AND y.typlen = -1)
        AND y.typowner <> (SELECT p.proowner FROM pg_proc p WHERE p.oid = 'cutover.capture()'::regprocedure)
        AND NOT coalesce((SELECT r.rolsuper FROM pg_roles r WHERE r.oid = y.typowner), false)
      ORDER BY y.oid)
$f$;
REVOKE ALL ON FUNCTION cutover.others_types(pg_catalog.regclass) FROM PUBLIC;

-- Refuses (42501) while a cast to json by function exists from one of types (cutover.others_types
-- of rel), naming each: called by cutover.capture_table and, when it finds one, by the capture
-- function before it prints the row, so the cast never runs.
CREATE OR REPLACE FUNCTION cutover.refuse_casts(rel pg_catalog.regclass, types oid[]) RETURNS void LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $f$
DECLARE
  found text;
  drops text;
  owner name := (SELECT pg_get_userbyid(p.proowner) FROM pg_proc p WHERE p.oid = 'cutover.capture()'::regprocedure);
BEGIN
  SELECT string_agg(format('a cast to json from type %s (function %s, owner %s)', k.castsource::regtype, k.castfunc::regprocedure,
      pg_get_userbyid(y.typowner)), ', ' ORDER BY k.castsource),
    string_agg(format('DROP CAST (%s AS json)', k.castsource::regtype), '; ' ORDER BY k.castsource)
    INTO found, drops
    FROM pg_cast k JOIN pg_type y ON y.oid = k.castsource
    WHERE k.castsource = ANY (types) AND k.casttarget = 'json'::regtype AND k.castmethod = 'f';
  IF found IS NOT NULL THEN
    RAISE EXCEPTION USING ERRCODE = '42501',
      MESSAGE = format('cutover: trigger capture refuses changes to %s: %s, which printing the row would run as role %s, the'
        ' capture''s owner; the type''s owner is neither that role nor a superuser', rel, found, owner),
      HINT = format('as the type''s owner: %s (a type whose cast to json is meant must belong to %s or a superuser)', drops, owner);
  END IF;
END $f$;
REVOKE ALL ON FUNCTION cutover.refuse_casts(pg_catalog.regclass, oid[]) FROM PUBLIC;

-- What cutover.capture_table makes of a table as it is now: the capture function's first argument
-- (flag), the key, whether the triggers use it (keyed), and the json columns. Arguments of
-- cutover.capture: 's' or '-' (pin the settings that change how values print, at any depth: a
-- float or geometric value below 12, where extra_float_digits under 3 drops digits, a range, whose
-- bounds print with DateStyle, or an interval, which prints with IntervalStyle), with 'f' added to
-- '-' from 12 where the row holds such a float (pin extra_float_digits only where the writer's is
-- 0 or below, which still rounds there), 'r' where an oid alias type (regclass, ...) is in the
-- row, printed with search_path pg_catalog; 'o' or
-- '-' (log the old row), with 'j' added to the first where the table has json columns; then, with
-- 'j', their count and the json columns (cutover.json_columns); then the key columns to keep of the
-- old row (none: keep all of it). The key is the target's way of finding a row: primary key, else
-- replica identity index, else a unique index over NOT NULL columns without expressions or
-- predicate, never a DEFERRABLE one (as Catalog.describe: a deferred key may repeat mid-statement,
-- so a change replayed row by row by it finds two rows); none under REPLICA IDENTITY FULL.
CREATE OR REPLACE FUNCTION cutover.capture_plan(rel pg_catalog.regclass, OUT flag text, OUT key text[], OUT keyed boolean,
  OUT jcols text[]) LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $f$
DECLARE
  floats boolean;
BEGIN
  flag := '-';
  jcols := cutover.json_columns(rel);
  -- A float, a geometric type or contrib's cube at any depth (a column, an array's element, a
  -- domain's base, a composite's field), all printed by float8's rules: extra_float_digits 0 or
  -- below rounds them to 15 significant digits or fewer on every version (from 12 only a value
  -- above 0 prints the shortest exact text; before 12 only 3 prints every digit).
  floats := EXISTS (SELECT 1 FROM pg_type y WHERE y.oid = ANY (cutover.types_within(rel)) AND (y.oid IN ('pg_catalog.float4'::regtype,
      'pg_catalog.float8'::regtype, 'pg_catalog.point'::regtype, 'pg_catalog.line'::regtype, 'pg_catalog.lseg'::regtype,
      'pg_catalog.box'::regtype, 'pg_catalog.path'::regtype, 'pg_catalog.polygon'::regtype, 'pg_catalog.circle'::regtype)
    OR EXISTS (SELECT 1 FROM pg_proc p WHERE p.oid = y.typoutput AND p.proname = 'cube_out')));
  -- At any depth: a float before 12 (above), a range or a multirange (its bounds print with
  -- DateStyle), an interval (IntervalStyle: sql_standard's -1 2:00:00 reads as -1 day +2 hours
  -- elsewhere), a domain before 12. And a composite column, as before.
  IF (floats AND current_setting('server_version_num')::int < 120000)
      OR EXISTS (SELECT 1 FROM pg_type y WHERE y.oid = ANY (cutover.types_within(rel)) AND (y.typtype IN ('r', 'm')
        OR y.oid = 'pg_catalog.interval'::regtype OR (current_setting('server_version_num')::int < 120000 AND y.typtype = 'd')))
      OR EXISTS (SELECT 1 FROM pg_attribute a JOIN pg_type y ON y.oid = a.atttypid
        WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped AND y.typtype = 'c') THEN
    flag := 's';
  ELSIF floats THEN
    -- From 12, where any extra_float_digits above 0 prints every float exactly, flag f pins it only
    -- for a writer whose value is 0 or below (one setting lookup per row), not the three settings of
    -- flag s; such a table's INSERT triggers call the general function, not capture_row.
    flag := flag || 'f';
  END IF;
  SELECT array(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum ORDER BY k.ord) INTO key
    FROM pg_index i WHERE i.indrelid = rel AND i.indisunique AND i.indimmediate AND i.indisvalid AND i.indpred IS NULL
      AND i.indexprs IS NULL AND NOT EXISTS (SELECT 1 FROM unnest(i.indkey::int2[]) k(attnum)
        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum WHERE NOT a.attnotnull)
      AND 0 <> ALL (i.indkey::int2[])
    ORDER BY i.indisprimary DESC, i.indisreplident DESC, i.indnatts, i.indexrelid LIMIT 1;
  -- An oid alias type at any depth (regclass, regtype, ...), whose values print as names relative
  -- to the writer's search_path (thing for app.thing), which the target may resolve otherwise or
  -- not at all: flag r prints the row with pg_catalog alone on the path, every name schema-qualified.
  IF EXISTS (SELECT 1 FROM pg_type y WHERE y.oid = ANY (cutover.types_within(rel)) AND y.typnamespace = 'pg_catalog'::regnamespace
      AND y.typname IN ('regproc', 'regprocedure', 'regoper', 'regoperator', 'regclass', 'regtype', 'regconfig', 'regdictionary',
        'regnamespace', 'regrole', 'regcollation')) THEN
    flag := flag || 'r';
  END IF;
  IF cardinality(jcols) > 0 THEN
    flag := flag || 'j';
  END IF;
  IF cardinality(cutover.others_types(rel)) > 0 THEN
    flag := flag || 'u';
  END IF;
  keyed := coalesce(cardinality(key), 0) > 0 AND (SELECT c.relreplident FROM pg_class c WHERE c.oid = rel) <> 'f';
END $f$;
REVOKE ALL ON FUNCTION cutover.capture_plan(pg_catalog.regclass) FROM PUBLIC;

-- Whether a table's capture triggers are those cutover.capture_table would make now: all there,
-- with these arguments, every one ENABLE ALWAYS (not disabled, as ALTER TABLE ... DISABLE TRIGGER
-- USER or ALL does for a bulk load or a data fix, nor firing only in origin or replica mode, as an
-- earlier build made them or ENABLE TRIGGER leaves them). Not so after such an ALTER TABLE, or a
-- change of the key or of the json columns, that no event trigger followed (a role that is not a
-- superuser): status names such tables. The arguments are compared as the bytes pg_trigger holds
-- (each in the database's encoding, ended by a NUL): encode(tgargs, 'escape') writes a byte from
-- 0x80 and a backslash escaped, so a key or json column named "é" or "a\b" never looked current,
-- and the event trigger remade its triggers without end (r33).
CREATE OR REPLACE FUNCTION cutover.capture_current(rel pg_catalog.regclass) RETURNS boolean LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $f$
DECLARE
  p record;
  expected text[];
BEGIN
  SELECT * INTO p FROM cutover.capture_plan(rel);
  expected := ARRAY[p.flag, 'o'] || (CASE WHEN cardinality(p.jcols) > 0 THEN cardinality(p.jcols)::text || p.jcols ELSE '{}'::text[] END)
    || (CASE WHEN strpos(p.flag, 'u') > 0 THEN ARRAY[cutover.others_types(rel)::text] ELSE '{}'::text[] END)
    || (CASE WHEN p.keyed THEN p.key ELSE '{}'::text[] END);
  RETURN coalesce((SELECT g.tgargs FROM pg_trigger g WHERE g.tgrelid = rel AND g.tgname = '#cutover_capture_delete')
      = (SELECT string_agg(convert_to(a, current_setting('server_encoding')) || decode('00', 'hex'), ''::bytea ORDER BY o)
        FROM unnest(expected) WITH ORDINALITY u(a, o)), false)
    AND p.keyed = EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = rel AND g.tgname = '#cutover_capture_key')
    AND (SELECT count(*) FROM pg_trigger g WHERE g.tgrelid = rel AND g.tgname IN ('#cutover_capture', '#cutover_capture_update',
      '#cutover_capture_truncate')) = 3
    AND NOT EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = rel AND g.tgname LIKE '#cutover\_capture%'
      AND g.tgenabled <> 'A');
END $f$;
REVOKE ALL ON FUNCTION cutover.capture_current(pg_catalog.regclass) FROM PUBLIC;

-- The equality operator of each column of key (in its order) as the table's immediate unique index
-- over exactly those columns compares it, named with its schema (OPERATOR(pg_catalog.=)): the WHEN
-- clauses of cutover.capture_table compare the key with it, since a type whose operator lives
-- elsewhere (ltree's, in an extension's schema) has none pg_catalog could find, and a key compared
-- by name would fail the CREATE TRIGGER under this path; pg_catalog's for a column no index class
-- compares (an INCLUDE column).
CREATE OR REPLACE FUNCTION cutover.key_equality(rel pg_catalog.regclass, key text[]) RETURNS text[] LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp AS $f$
  SELECT array(SELECT coalesce((SELECT format('OPERATOR(%I.%s)', n.nspname, o.oprname) FROM pg_opclass oc
        JOIN pg_amop a ON a.amopfamily = oc.opcfamily AND a.amoplefttype = oc.opcintype AND a.amoprighttype = oc.opcintype
          AND a.amopstrategy = 3
        JOIN pg_operator o ON o.oid = a.amopopr JOIN pg_namespace n ON n.oid = o.oprnamespace
        WHERE oc.oid = (i.indclass::oid[])[k.ord - 1]), 'OPERATOR(pg_catalog.=)')
      FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord) ORDER BY k.ord)
    FROM pg_index i WHERE i.indrelid = rel AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND array(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
        JOIN pg_attribute a ON a.attrelid = rel AND a.attnum = k.attnum ORDER BY k.ord) = key
    ORDER BY i.indisprimary DESC, i.indexrelid LIMIT 1
$f$;
REVOKE ALL ON FUNCTION cutover.key_equality(pg_catalog.regclass, text[]) FROM PUBLIC;

-- (Re)creates the capture triggers of one table, as its key and column types are now
-- (cutover.capture_plan). One function for start, reverse, the apply and the event trigger, so
-- they agree. The triggers are ENABLE ALWAYS (see CaptureSchema.install). The WHEN clauses compare
-- the key in C, with its index's operators (cutover.key_equality), so an UPDATE that keeps its key
-- logs only the new row. Triggers that log only the
-- new row with nothing to pin (INSERT, an UPDATE that keeps the key, flag '-') call
-- cutover.capture_row(), which does only that and so costs the writer less. With only_if_changed,
-- triggers that are current (cutover.capture_current) are left as they are (an ALTER TABLE that
-- changed nothing they depend on, such as one disabling the application's own trigger); the event
-- trigger so enables ours again in the transaction of an ALTER TABLE that disabled them. Its own DDL is not captured as
-- a schema change: cutover.ddl_capture is off while it runs. Nor does the event trigger follow it
-- (cutover.capture_making is on): should capture_current ever disagree with what is made here, the
-- ALTER TABLE below would otherwise remake the triggers again, without end (r33).
CREATE OR REPLACE FUNCTION cutover.capture_table(rel pg_catalog.regclass, only_if_changed boolean DEFAULT false) RETURNS void LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $f$
DECLARE
  p record;
  args text;
  on_ text := format(' ON %s FOR EACH ROW', rel);
  cap text;
  t text;
  same_key text;
  capture text;
  making text;
  row_only text;
  jargs text := '';
  ours text[] := ARRAY['#cutover_capture', '#cutover_capture_update', '#cutover_capture_key', '#cutover_capture_delete', '#cutover_capture_truncate'];
BEGIN
  IF only_if_changed AND cutover.capture_current(rel) THEN
    RETURN;
  END IF;
  SELECT * INTO p FROM cutover.capture_plan(rel);
  IF cardinality(p.jcols) > 0 THEN
    jargs := ', ' || quote_literal(cardinality(p.jcols)) || ', ' || (SELECT string_agg(quote_literal(j), ', ' ORDER BY o)
      FROM unnest(p.jcols) WITH ORDINALITY u(j, o));
  END IF;
  -- Flag u: the types another role owns follow (cutover.others_types), none with a cast to json.
  IF strpos(p.flag, 'u') > 0 THEN
    PERFORM cutover.refuse_casts(rel, cutover.others_types(rel));
    jargs := jargs || ', ' || quote_literal(cutover.others_types(rel)::text);
  END IF;
  capture := current_setting('cutover.ddl_capture', true);
  PERFORM set_config('cutover.ddl_capture', 'off', true);
  making := current_setting('cutover.capture_making', true);
  PERFORM set_config('cutover.capture_making', 'on', true);
  -- Only those there: DROP TRIGGER IF EXISTS of a missing one sends a NOTICE, five of them to the
  -- application's session at each CREATE TABLE it runs, through the event trigger (r25).
  FOR t IN SELECT g.tgname::text FROM pg_trigger g WHERE g.tgrelid = rel AND g.tgname = ANY (ours) LOOP
    EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', t, rel);
  END LOOP;
  cap := format(' EXECUTE PROCEDURE cutover.capture(%L', p.flag);
  row_only := CASE WHEN p.flag = '-' THEN ' EXECUTE PROCEDURE cutover.capture_row()' ELSE cap || ', ''-''' || jargs || ')' END;
  args := '';
  IF p.keyed THEN
    args := ', ' || (SELECT string_agg(quote_literal(k), ', ' ORDER BY o) FROM unnest(p.key) WITH ORDINALITY u(k, o));
    same_key := (SELECT string_agg(format('OLD.%I %s NEW.%I', k, e, k), ' AND ' ORDER BY o)
      FROM unnest(p.key, cutover.key_equality(rel, p.key)) WITH ORDINALITY u(k, e, o));
  END IF;
  EXECUTE 'CREATE TRIGGER "#cutover_capture" AFTER INSERT' || on_ || row_only;
  IF p.keyed THEN
    EXECUTE format('CREATE TRIGGER "#cutover_capture_update" AFTER UPDATE%s WHEN (%s)%s', on_, same_key, row_only);
    EXECUTE format('CREATE TRIGGER "#cutover_capture_key" AFTER UPDATE%s WHEN (NOT (%s))%s, ''o''%s%s)', on_, same_key, cap, jargs, args);
  ELSE
    EXECUTE 'CREATE TRIGGER "#cutover_capture_update" AFTER UPDATE' || on_ || cap || ', ''o''' || jargs || ')';
  END IF;
  EXECUTE 'CREATE TRIGGER "#cutover_capture_delete" AFTER DELETE' || on_ || cap || ', ''o''' || jargs || args || ')';
  EXECUTE format('CREATE TRIGGER "#cutover_capture_truncate" AFTER TRUNCATE ON %s FOR EACH STATEMENT%s, ''-'')', rel, cap);
  -- Fired in every session, session_replication_role = replica included; the capture function
  -- decides whom to leave out (apply sessions, by their token).
  EXECUTE format('ALTER TABLE %s ' || (SELECT string_agg(format('ENABLE ALWAYS TRIGGER %I', g.tgname), ', ' ORDER BY g.tgname)
    FROM pg_trigger g WHERE g.tgrelid = rel
      AND g.tgname = ANY (ours)), rel);
  PERFORM set_config('cutover.ddl_capture', coalesce(capture, ''), true);
  PERFORM set_config('cutover.capture_making', coalesce(making, ''), true);
END $f$;
REVOKE ALL ON FUNCTION cutover.capture_table(pg_catalog.regclass, boolean) FROM PUBLIC;
