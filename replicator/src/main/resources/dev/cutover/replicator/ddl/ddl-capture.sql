-- Schema changes carried in the change stream (installed by the replicator in schema cutover,
-- removed with it by cleanup). See DdlCapture.java for the design; the side this copy runs on
-- ('old' or 'new') replaces :side.

-- One row per schema change made on this side; replicated like any table, so that the other side
-- executes it (trigger ddl_apply) at the same point of the stream. Nobody but the event trigger's
-- SECURITY DEFINER function writes it: a role that could insert here could run any SQL on the
-- other side.
CREATE TABLE IF NOT EXISTS cutover.ddl_log (
  id text PRIMARY KEY,
  source text NOT NULL,
  at timestamptz NOT NULL DEFAULT clock_timestamp(),
  role name NOT NULL,
  search_path text NOT NULL,
  tag text NOT NULL,
  command text,
  query text NOT NULL,
  objects jsonb NOT NULL DEFAULT '[]',
  missing_values jsonb NOT NULL DEFAULT '[]',
  rows_follow boolean NOT NULL DEFAULT false,
  note text
);
-- The settings the statement was read with, whose literals they decide, in this order: DateStyle
-- ('03/04/2026' is April 3 under DMY), IntervalStyle ('-1 2:00:00' all negative under
-- sql_standard), TimeZone (a timestamptz without an offset), standard_conforming_strings ('a\tb'
-- holds a tab when off) and array_nulls ('{NULL}' holds the text NULL when off). Null from an
-- earlier build, which recorded the first two only after it.
ALTER TABLE cutover.ddl_log ADD COLUMN IF NOT EXISTS styles text[];
REVOKE ALL ON cutover.ddl_log FROM PUBLIC;

-- Local bookkeeping, never replicated (UNLOGGED): schema changes the operator did by hand (the
-- apply skips them), and tables whose REPLICA IDENTITY FULL was set here for lack of a key.
CREATE UNLOGGED TABLE IF NOT EXISTS cutover.ddl_done (id text PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE UNLOGGED TABLE IF NOT EXISTS cutover.ddl_auto_identity (relid oid PRIMARY KEY);
-- Tables a replayed change created that the apply's role may not register with the subscription
-- (pg_subscription_rel is for superusers): status asks for REFRESH PUBLICATION.
CREATE UNLOGGED TABLE IF NOT EXISTS cutover.ddl_refresh (relid oid PRIMARY KEY, subid oid NOT NULL);
REVOKE ALL ON cutover.ddl_done, cutover.ddl_auto_identity, cutover.ddl_refresh FROM PUBLIC;

CREATE OR REPLACE FUNCTION cutover.ddl_side() RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT :side::text $$;

-- The top-level statements of a query string, trimmed, comments kept: splits at semicolons that
-- are outside quotes, dollar quotes and comments, as PostgreSQL's own lexer does. scs is the
-- client session's standard_conforming_strings: off, a backslash escapes the next character in a
-- plain '...' literal as it always does in E'...' ('it\'s; DROP ...' is one literal then). With
-- each statement its shape, for cutover.ddl_matches: the statement with each literal, quoted
-- identifier and dollar-quoted body made the word _ and each comment blanks, so that its words
-- are its keywords and bare names only ("on", 'x into y' and /* GRANT */ are none).
--
-- This function and every other one here that reads text with a pattern or literal holding a
-- backslash runs with standard_conforming_strings = on (a SET clause), so that PL/pgSQL reads its
-- own literals alike whatever the session says; they run only for schema changes, never for rows.
CREATE OR REPLACE FUNCTION cutover.ddl_split(q text, scs boolean, OUT stmts text[], OUT shapes text[]) LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp SET standard_conforming_strings = on AS $f$
DECLARE
  n int := length(q);
  pos int := 1;
  first int := 1;
  -- q masked as the shapes are, up to (not including) position done: as long as that part of q.
  masked text := '';
  done int := 1;
  start int;
  rest text;
  c text;
  m text;
  tag text;
  depth int;
  a int;
  b int;
BEGIN
  stmts := '{}';
  shapes := '{}';
  WHILE pos <= n LOOP
    rest := substr(q, pos);
    pos := pos + length(substring(rest FROM '^[^'';"$/-]*'));
    EXIT WHEN pos > n;
    c := substr(q, pos, 1);
    rest := substr(q, pos);
    start := pos;
    IF c = ';' THEN
      m := btrim(substr(q, first, pos - first), E' \t\r\n');
      IF m <> '' THEN
        masked := masked || substr(q, done, pos - done);
        done := pos;
        stmts := stmts || m;
        shapes := shapes || btrim(substr(masked, first, pos - first), E' \t\r\n');
      END IF;
      pos := pos + 1;
      first := pos;
      CONTINUE;
    ELSIF c = '''' THEN
      IF NOT scs OR (pos > 1 AND substr(q, pos - 1, 1) IN ('E', 'e') AND (pos = 2 OR substr(q, pos - 2, 1) !~ '[[:alnum:]_$]')) THEN
        m := substring(rest FROM '^''(?:[^''\\]|\\.|'''')*''');
      ELSE
        m := substring(rest FROM '^''(?:[^'']|'''')*''');
      END IF;
      pos := pos + coalesce(length(m), length(rest));
    ELSIF c = '"' THEN
      m := substring(rest FROM '^"(?:[^"]|"")*"');
      pos := pos + coalesce(length(m), length(rest));
    ELSIF c = '$' THEN
      tag := CASE WHEN pos > 1 AND substr(q, pos - 1, 1) ~ '[[:alnum:]_$]' THEN NULL
                  ELSE substring(rest FROM '^\$(?:[[:alpha:]_][[:alnum:]_]*)?\$') END;
      IF tag IS NULL THEN
        pos := pos + 1;
        CONTINUE;
      END IF;
      a := strpos(substr(rest, length(tag) + 1), tag);
      pos := CASE WHEN a = 0 THEN n + 1 ELSE pos + 2 * length(tag) + a - 1 END;
    ELSIF c = '-' AND substr(q, pos + 1, 1) = '-' THEN
      a := strpos(rest, E'\n');
      pos := CASE WHEN a = 0 THEN n + 1 ELSE pos + a END;
      masked := masked || substr(q, done, start - done) || repeat(' ', pos - start);
      done := pos;
      CONTINUE;
    ELSIF c = '/' AND substr(q, pos + 1, 1) = '*' THEN
      depth := 1;
      pos := pos + 2;
      WHILE depth > 0 AND pos <= n LOOP
        rest := substr(q, pos);
        a := strpos(rest, '/*');
        b := strpos(rest, '*/');
        IF b = 0 THEN
          pos := n + 1;
        ELSIF a > 0 AND a < b THEN
          depth := depth + 1;
          pos := pos + a + 1;
        ELSE
          depth := depth - 1;
          pos := pos + b + 1;
        END IF;
      END LOOP;
      masked := masked || substr(q, done, start - done) || repeat(' ', pos - start);
      done := pos;
      CONTINUE;
    ELSE
      pos := pos + 1;
      CONTINUE;
    END IF;
    -- A literal, quoted identifier or dollar-quoted body from start to pos: the word _ with blanks
    -- around it, so that it neither vanishes between two names nor joins a word next to it.
    masked := masked || substr(q, done, start - done)
      || CASE WHEN pos - start >= 3 THEN ' _' || repeat(' ', pos - start - 2) ELSE repeat(' ', pos - start) END;
    done := pos;
  END LOOP;
  m := btrim(substr(q, first), E' \t\r\n');
  IF m <> '' THEN
    masked := masked || substr(q, done);
    stmts := stmts || m;
    shapes := shapes || btrim(substr(masked, first), E' \t\r\n');
  END IF;
END $f$;

-- A statement without the comments and white space it starts with.
CREATE OR REPLACE FUNCTION cutover.ddl_unlead(s text) RETURNS text LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp SET standard_conforming_strings = on AS $f$
DECLARE
  t text := s;
  before text;
BEGIN
  LOOP
    before := t;
    t := regexp_replace(t, '^[[:space:]]+', '');
    t := regexp_replace(t, '^--[^\n]*', '');
    IF left(t, 2) = '/*' AND strpos(t, '*/') > 0 THEN
      t := substr(t, strpos(t, '*/') + 2);
    END IF;
    EXIT WHEN t = before;
  END LOOP;
  RETURN t;
END $f$;

-- Whether a statement, read from its shape (cutover.ddl_split), is the command an event trigger
-- fired for: its first keywords are the command tag's (CREATE's modifiers such as OR REPLACE,
-- UNIQUE, UNLOGGED left out). Where statements that fire no event trigger begin with the same
-- keywords, what follows tells them apart, or a command would take such a statement of its query
-- string and its own would go to the next command, or nowhere: PostgreSQL fires none for a role's
-- GRANT or REVOKE (no ON), a GRANT on a database, tablespace or parameter, a COMMENT or SECURITY
-- LABEL on a database, role, tablespace or event trigger. A GRANT's or REVOKE's object type must
-- also be the one pg_event_trigger_ddl_commands() reported (objtype: TABLE, SEQUENCE, FUNCTION...),
-- and SELECT INTO's INTO is not an INSERT's or MERGE's.
CREATE OR REPLACE FUNCTION cutover.ddl_matches(tg_tag text, objtype text, shape text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp SET standard_conforming_strings = on AS $f$
DECLARE
  words text[] := array_remove(regexp_split_to_array(upper(left(shape, 2000)), '[^[:alnum:]_]+'), '');
  tagwords text[] := string_to_array(tg_tag, ' ');
  i int;
  kind text;
BEGIN
  IF words[1] = 'CREATE' THEN
    words := array_remove(words, 'TEMP');
    words := array_remove(words, 'TEMPORARY');
    words := array_remove(words, 'UNLOGGED');
    words := array_remove(words, 'GLOBAL');
    words := array_remove(words, 'LOCAL');
    words := array_remove(words, 'UNIQUE');
    words := array_remove(words, 'RECURSIVE');
    words := array_remove(words, 'CONSTRAINT');
    words := array_remove(words, 'TRUSTED');
    words := array_remove(words, 'PROCEDURAL');
    IF words[2] = 'OR' AND words[3] = 'REPLACE' THEN
      words := words[1:1] || words[4:];
    END IF;
  END IF;
  IF tg_tag = 'SELECT INTO' THEN
    RETURN coalesce(words[1] IN ('SELECT', 'WITH') AND EXISTS (SELECT 1 FROM generate_subscripts(words, 1) g
      WHERE words[g] = 'INTO' AND g > 1 AND words[g - 1] NOT IN ('INSERT', 'MERGE')), false);
  ELSIF tg_tag IN ('GRANT', 'REVOKE') THEN
    i := array_position(words, 'ON');
    kind := CASE
      WHEN i IS NULL THEN NULL
      WHEN words[i + 1] = 'ALL' THEN CASE words[i + 2] WHEN 'TABLES' THEN 'TABLE' WHEN 'SEQUENCES' THEN 'SEQUENCE'
        WHEN 'FUNCTIONS' THEN 'FUNCTION' WHEN 'PROCEDURES' THEN 'PROCEDURE' WHEN 'ROUTINES' THEN 'ROUTINE' END
      WHEN words[i + 1] IN ('TABLE', 'SEQUENCE', 'DATABASE', 'DOMAIN', 'FUNCTION', 'LANGUAGE', 'SCHEMA', 'PARAMETER', 'PROCEDURE',
        'ROUTINE', 'TABLESPACE', 'TYPE') THEN words[i + 1]
      WHEN words[i + 1] = 'LARGE' THEN 'LARGE OBJECT'
      WHEN words[i + 1] = 'FOREIGN' AND words[i + 2] = 'DATA' THEN 'FOREIGN DATA WRAPPER'
      WHEN words[i + 1] = 'FOREIGN' AND words[i + 2] = 'SERVER' THEN 'FOREIGN SERVER'
      -- ON followed by a name: a table, a view or a sequence.
      ELSE 'TABLE' END;
    RETURN coalesce(words[1] = tg_tag AND kind NOT IN ('DATABASE', 'TABLESPACE', 'PARAMETER')
      AND (objtype IS NULL OR kind = upper(objtype)), false);
  ELSIF tg_tag IN ('COMMENT', 'SECURITY LABEL') THEN
    i := array_position(words, 'ON');
    RETURN coalesce(words[1:array_length(tagwords, 1)] = tagwords AND words[i + 1] NOT IN ('DATABASE', 'ROLE', 'TABLESPACE', 'EVENT'), false);
  END IF;
  -- The first two keywords tell the rest apart (ALTER TABLE from ALTER ROLE).
  RETURN coalesce(words[1] = tagwords[1] AND (array_length(tagwords, 1) = 1 OR words[2] = tagwords[2]), false);
END $f$;

-- The statement that creates, empty, the table a CREATE TABLE AS or SELECT ... INTO makes, whose
-- rows follow in the stream (the replay runs it for SELECT INTO, which PL/pgSQL's EXECUTE refuses;
-- a hint offers it to run by hand), or null where it cannot be read. `scs` is the
-- standard_conforming_strings the statement was read with (off: a backslash escapes a quote in
-- '...'). SELECT INTO's INTO clause is the first INTO outside parentheses, quotes and comments (a
-- column alias named into must be quoted); CREATE TABLE AS gets WITH NO DATA.
CREATE OR REPLACE FUNCTION cutover.ddl_create_empty(tg_tag text, cmd text, scs boolean) RETURNS text LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp SET standard_conforming_strings = on AS $f$
DECLARE
  split record;
  shape text;
  depth int := 0;
  c text;
  rest text;
  m text;
  clause text[];
  name text := '(?:"(?:[^"]|"")*"|[^[:space:]"(),;.]+)';
BEGIN
  IF cmd IS NULL THEN
    RETURN NULL;
  ELSIF tg_tag = 'CREATE TABLE AS' THEN
    RETURN regexp_replace(cmd, '\s+with\s+(no\s+)?data\s*$', '', 'i') || E'\nWITH NO DATA';
  ELSIF tg_tag <> 'SELECT INTO' THEN
    RETURN NULL;
  END IF;
  -- Read on cutover.ddl_split's shape, literals, quoted names and comments masked at their own
  -- length: a position in it is one in the statement (which starts with neither, ddl_unlead).
  SELECT * INTO split FROM cutover.ddl_split(cmd, scs);
  IF cardinality(split.stmts) <> 1 OR left(split.stmts[1], 2) IN ('--', '/*') THEN
    RETURN NULL;
  END IF;
  cmd := split.stmts[1];
  shape := split.shapes[1];
  FOR pos IN 1 .. length(shape) LOOP
    c := substr(shape, pos, 1);
    IF c = '(' THEN
      depth := depth + 1;
    ELSIF c = ')' THEN
      depth := depth - 1;
    ELSIF depth = 0 AND c IN ('i', 'I') AND (pos = 1 OR substr(shape, pos - 1, 1) !~ '[[:alnum:]_$]')
        AND substr(shape, pos) ~* '^into\s' THEN
      rest := substr(cmd, pos);
      clause := regexp_match(rest, '^into\s+(unlogged\s+)?(table\s+)?(' || name || '(?:\s*\.\s*' || name || '){0,2})', 'i');
      IF clause IS NOT NULL THEN
        IF rest ~* '^into\s+((global|local)\s+)?temp(orary)?\s' THEN
          RETURN NULL;
        END IF;
        m := substring(rest FROM '(?i)^into\s+(?:unlogged\s+)?(?:table\s+)?' || name || '(?:\s*\.\s*' || name || '){0,2}');
        RETURN 'CREATE ' || CASE WHEN clause[1] IS NULL THEN '' ELSE 'UNLOGGED ' END || 'TABLE ' || clause[3] || ' AS '
          || rtrim(substr(cmd, 1, pos - 1), E' \t\r\n') || ' ' || ltrim(substr(rest, length(m) + 1), E' \t\r\n') || E'\nWITH NO DATA';
      END IF;
    END IF;
  END LOOP;
  RETURN NULL;
END $f$;

-- The first function or keyword in the USING expressions of an ALTER TABLE (which give a column of
-- a new type its values, row by row, in a table rewrite that is not in the stream) whose value the
-- replay on the other side would compute anew: a volatile function (random(), gen_random_uuid(),
-- nextval()), or a stable one that reads the transaction's time or the session (now(),
-- CURRENT_TIMESTAMP, pg_backend_pid()), all stable functions but those that depend only on the
-- settings the replay runs with (cutover.ddl_log.styles). Null if none. It reads names, not the
-- expression's plan: a name of which any function qualifies is enough (a function of the same
-- name as a volatile one is refused too, which capture off gets past), string literals and
-- comments left out; everything after the first USING is read.
CREATE OR REPLACE FUNCTION cutover.ddl_unrepeatable(stmt text) RETURNS text LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp SET standard_conforming_strings = on AS $f$
DECLARE
  u text := substring(stmt FROM '(?i)\musing\M(.*)$');
  w text;
BEGIN
  IF u IS NULL THEN
    RETURN NULL;
  END IF;
  u := regexp_replace(u, '''(?:[^'']|'''')*''', '''''', 'g');
  u := regexp_replace(u, '--[^\n]*', ' ', 'g');
  u := regexp_replace(u, '/\*.*?\*/', ' ', 'g');
  FOR w IN SELECT lower(coalesce(m[1], m[2])) FROM regexp_matches(u, '([[:alpha:]_][[:alnum:]_$]*)\s*\(|\m(current_date|current_time'
      || '|current_timestamp|localtime|localtimestamp|session_user)\M', 'gi') m LOOP
    IF w IN ('current_date', 'current_time', 'current_timestamp', 'localtime', 'localtimestamp', 'session_user')
        OR EXISTS (SELECT 1 FROM pg_proc p WHERE p.proname = w AND (p.provolatile = 'v' OR (p.provolatile = 's' AND w NOT IN (
          'to_char', 'to_date', 'to_timestamp', 'to_number', 'date_trunc', 'date_part', 'extract', 'timezone', 'make_timestamptz',
          'timestamptz', 'timestamp', 'date', 'time', 'timetz', 'concat', 'concat_ws', 'format', 'to_json', 'to_jsonb',
          'row_to_json', 'array_to_json', 'json_build_object', 'jsonb_build_object', 'json_build_array', 'jsonb_build_array',
          'json_object', 'jsonb_object', 'array_to_string', 'to_regclass', 'to_regtype', 'to_regproc', 'to_regnamespace',
          'text', 'bpchar', 'varchar', 'float8', 'float4', 'numeric', 'int4', 'int8', 'int2', 'bool', 'interval')))) THEN
      RETURN w;
    END IF;
  END LOOP;
  RETURN NULL;
END $f$;

-- What every application table on this side needs, created or altered here or by a replayed
-- schema change: the driver's fence trigger (tables created after start are otherwise unguarded
-- at the switch), a replica identity (a table without key gets FULL, so UPDATE and DELETE on it
-- keep working once published; back to DEFAULT when a primary key appears), membership of our
-- publications that list their tables. Returns what could not be done, or null. Its own DDL is not
-- captured: cutover.ddl_capture is off while it runs (set and put back here, since only a
-- superuser may give a function a SET clause on a custom setting).
CREATE OR REPLACE FUNCTION cutover.ddl_guard(rel oid) RETURNS text LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp SET standard_conforming_strings = on AS $f$
DECLARE
  c record;
  pub name;
  note text;
  haskey boolean;
  capture text := current_setting('cutover.ddl_capture', true);
BEGIN
  SELECT k.oid, k.relkind, k.relpersistence, k.relreplident, n.nspname INTO c
    FROM pg_class k JOIN pg_namespace n ON n.oid = k.relnamespace WHERE k.oid = rel;
  IF NOT FOUND OR c.relkind NOT IN ('r', 'p') OR c.relpersistence <> 'p' OR c.nspname IN ('cutover', 'pg_catalog', 'information_schema')
      OR c.nspname LIKE 'pg\_%' THEN
    RETURN NULL;
  END IF;
  PERFORM set_config('cutover.ddl_capture', 'off', true);
  IF to_regproc('cutover.fence_guard') IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = rel AND tgname = 'cutover_fence') THEN
    EXECUTE format('CREATE TRIGGER cutover_fence BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON %s'
      || ' FOR EACH STATEMENT EXECUTE PROCEDURE cutover.fence_guard()', rel::regclass);
  END IF;
  IF c.relkind = 'r' THEN
    -- A DEFERRABLE primary key is no replica identity (PostgreSQL takes only an immediate one).
    haskey := EXISTS (SELECT 1 FROM pg_index WHERE indrelid = rel AND indisprimary AND indimmediate);
    IF c.relreplident = 'd' AND NOT haskey THEN
      EXECUTE format('ALTER TABLE %s REPLICA IDENTITY FULL', rel::regclass);
      INSERT INTO cutover.ddl_auto_identity VALUES (rel) ON CONFLICT DO NOTHING;
    ELSIF c.relreplident = 'f' AND haskey AND EXISTS (SELECT 1 FROM cutover.ddl_auto_identity WHERE relid = rel) THEN
      EXECUTE format('ALTER TABLE %s REPLICA IDENTITY DEFAULT', rel::regclass);
      DELETE FROM cutover.ddl_auto_identity WHERE relid = rel;
    END IF;
  END IF;
  FOR pub IN SELECT p.pubname FROM pg_publication p WHERE p.pubname LIKE 'cutover\_%' AND NOT p.puballtables
      AND NOT EXISTS (SELECT 1 FROM pg_publication_rel r WHERE r.prpubid = p.oid AND r.prrelid = rel) LOOP
    BEGIN
      EXECUTE format('ALTER PUBLICATION %I ADD TABLE %s', pub, rel::regclass);
    EXCEPTION WHEN OTHERS THEN
      note := concat_ws('; ', note, format('not added to publication %s (%s): run ALTER PUBLICATION %I ADD TABLE %s as its owner',
        pub, SQLERRM, pub, rel::regclass));
    END;
  END LOOP;
  PERFORM set_config('cutover.ddl_capture', coalesce(capture, ''), true);
  RETURN nullif(note, '');
END $f$;

-- The event trigger: logs each schema change made on this side into cutover.ddl_log, with the
-- statement to run on the other side, the role, search_path and the settings that read its
-- literals (cutover.ddl_log.styles) it ran with, and what it touched. It must read the session's
-- search_path, which a SET clause would hide (and those settings, which ddl_record's SET clauses
-- do hide): so it reads it, fixes the path before anything unqualified runs (SECURITY DEFINER code must never resolve names through a
-- path the caller chose), and puts the session's back after cutover.ddl_record has done the work.
CREATE OR REPLACE FUNCTION cutover.ddl_capture() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER AS $f$
DECLARE
  path text := pg_catalog.current_setting('search_path');
  styles text[] := ARRAY[pg_catalog.current_setting('DateStyle'), pg_catalog.current_setting('IntervalStyle'),
    pg_catalog.current_setting('TimeZone'), pg_catalog.current_setting('standard_conforming_strings'),
    pg_catalog.current_setting('array_nulls')];
  ctx text;
BEGIN
  PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
  GET DIAGNOSTICS ctx = PG_CONTEXT;
  -- Our own frame is the only line, unless the command ran inside a function or DO block.
  PERFORM cutover.ddl_record(tg_event, tg_tag, path, styles, strpos(ctx, E'\n') > 0, ctx);
  PERFORM pg_catalog.set_config('search_path', path, true);
END $f$;

-- The work of the event trigger, called only by it (as the log's owner; revoked from PUBLIC).
DROP FUNCTION IF EXISTS cutover.ddl_record(text, text, text, boolean, text);
CREATE OR REPLACE FUNCTION cutover.ddl_record(tg_event text, tg_tag text, path text, styles text[], nested boolean, ctx text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET DateStyle = 'ISO, YMD' SET IntervalStyle = 'postgres'
SET extra_float_digits = 3 SET standard_conforming_strings = on AS $f$
DECLARE
  q text := current_query();
  stmts text[];
  shapes text[];
  key text;
  seen text;
  p int := 0;
  i int;
  stmt text;
  cmd text;
  note text;
  guard text;
  objs jsonb := '[]';
  missing jsonb := '[]';
  touched oid[] := '{}';
  r record;
  skip boolean := false;
  hasrows boolean;
  why text;
  remedy text;
  capture text := current_setting('cutover.ddl_capture', true);
BEGIN
  -- Inside a function or DO block (our own replay and guard included) a command has no statement
  -- of the query string to consume (see below), so nothing is left to do with capture off.
  IF capture = 'off' AND nested THEN
    RETURN;
  END IF;
  IF tg_event = 'table_rewrite' THEN
    IF capture = 'off' THEN
      RETURN;
    END IF;
    -- A new column filled row by row with a volatile default (random(), clock_timestamp(), a
    -- sequence), or a column given a new type by a USING expression that new would compute anew
    -- (random(), now()): the rewrite is not in the change stream, and new would compute other values.
    IF pg_event_trigger_table_rewrite_reason() & 2 <> 0 THEN
      why := 'fills a new column with a volatile default for every existing row';
      remedy := 'Add the column without a default (or with a constant one), fill it with UPDATE, which replicates, then ALTER COLUMN ... SET DEFAULT';
    ELSIF pg_event_trigger_table_rewrite_reason() & 4 <> 0 AND NOT nested THEN
      -- The statement ddl_command_end will match (see below), not consumed here.
      key := md5(q) || '/' || statement_timestamp()::text;
      seen := current_setting('cutover.ddl_seen', true);
      IF seen IS NOT NULL AND split_part(seen, '|', 1) = key THEN
        p := split_part(seen, '|', 2)::int;
      END IF;
      SELECT s.stmts, s.shapes INTO stmts, shapes FROM cutover.ddl_split(q, styles[4] = 'on') s;
      FOR i IN p + 1 .. coalesce(array_length(stmts, 1), 0) LOOP
        IF cutover.ddl_matches(tg_tag, NULL, shapes[i]) THEN
          why := cutover.ddl_unrepeatable(stmts[i]);
          EXIT;
        END IF;
      END LOOP;
      IF why IS NOT NULL THEN
        why := 'gives a column a new type through a USING expression that calls ' || why || ' for every existing row';
        remedy := 'Add a column of the new type, fill it with UPDATE, which replicates, then drop the old column and rename the new one';
      END IF;
    END IF;
    IF why IS NOT NULL THEN
      SELECT k.oid, k.relpersistence, n.nspname INTO r FROM pg_class k JOIN pg_namespace n ON n.oid = k.relnamespace
        WHERE k.oid = pg_event_trigger_table_rewrite_oid();
      IF r.relpersistence = 'p' AND r.nspname <> 'cutover' THEN
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s)', r.oid::regclass) INTO hasrows;
        IF hasrows THEN
          RAISE EXCEPTION 'cutover: % on % %, which replication cannot carry: new would compute other values', tg_tag, r.oid::regclass, why
            USING ERRCODE = '0A000',
              HINT = remedy || '; or SET cutover.ddl_capture = off to do it anyway and fix new by hand (verify lists the rows that differ).';
        END IF;
      END IF;
    END IF;
    RETURN;
  END IF;

  IF tg_event = 'sql_drop' THEN
    IF capture = 'off' THEN
      RETURN;
    END IF;
    -- Remember for ddl_command_end whether this DROP touched anything that is replicated.
    PERFORM set_config('cutover.ddl_drop_skip', (NOT EXISTS (SELECT 1 FROM pg_event_trigger_dropped_objects() d
      WHERE d.original AND NOT d.is_temporary AND coalesce(d.schema_name, '') <> 'cutover'))::text, true);
    RETURN;
  END IF;

  -- CREATE TABLE AS and SELECT INTO are logged when they start: their rows come in the stream right
  -- after, and must find the table. Everything else when it ends.
  IF (tg_event = 'ddl_command_start') <> (tg_tag IN ('CREATE TABLE AS', 'SELECT INTO')) THEN
    IF capture IS DISTINCT FROM 'off' AND tg_event = 'ddl_command_end' AND NOT nested THEN
      -- The end of a CREATE TABLE AS: only the guard of the table it made.
      FOR r IN SELECT objid FROM pg_event_trigger_ddl_commands() WHERE object_type = 'table' LOOP
        PERFORM cutover.ddl_guard(r.objid);
      END LOOP;
    END IF;
    RETURN;
  END IF;

  IF tg_event = 'ddl_command_end' THEN
    skip := true;
    FOR r IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
      IF r.in_extension THEN
        -- Run by an extension's script, not a statement of the client's query string.
        RETURN;
      END IF;
      IF coalesce(r.schema_name, '') NOT LIKE 'pg\_temp%' AND coalesce(r.schema_name, '') <> 'cutover'
          AND NOT (r.object_type = 'trigger' AND r.object_identity LIKE 'cutover\_fence on %') THEN
        skip := false;
      END IF;
      objs := objs || jsonb_build_array(jsonb_build_object('type', r.object_type, 'identity', r.object_identity, 'tag', r.command_tag));
      IF r.object_type = 'table' THEN
        touched := touched || r.objid;
      END IF;
    END LOOP;
    IF tg_tag LIKE 'DROP %' THEN
      skip := coalesce(current_setting('cutover.ddl_drop_skip', true), 'false') = 'true';
      PERFORM set_config('cutover.ddl_drop_skip', 'false', true);
    ELSIF jsonb_array_length(objs) = 0 THEN
      skip := false;
    END IF;
  END IF;

  IF NOT nested THEN
    -- Which statement of the client's query string this is: the next one after the last matched
    -- (kept per query string in a session setting) whose keywords are the command's. Every command
    -- consumes its statement here, also one that is not logged (a temporary table, capture off, a
    -- publication): else the next command would be matched to it, and its own statement logged for
    -- the next one, or none.
    key := md5(q) || '/' || statement_timestamp()::text;
    seen := current_setting('cutover.ddl_seen', true);
    IF seen IS NOT NULL AND split_part(seen, '|', 1) = key THEN
      p := split_part(seen, '|', 2)::int;
    END IF;
    SELECT s.stmts, s.shapes INTO stmts, shapes FROM cutover.ddl_split(q, styles[4] = 'on') s;
    FOR i IN p + 1 .. coalesce(array_length(stmts, 1), 0) LOOP
      -- A GRANT or REVOKE reports one object type, the one of its ON clause.
      IF cutover.ddl_matches(tg_tag, objs -> 0 ->> 'type', shapes[i]) THEN
        stmt := cutover.ddl_unlead(stmts[i]);
        p := i;
        EXIT;
      END IF;
    END LOOP;
    PERFORM set_config('cutover.ddl_seen', key || '|' || p, false);
  END IF;
  IF capture = 'off' OR skip OR tg_tag IN ('CREATE PUBLICATION', 'ALTER PUBLICATION', 'DROP PUBLICATION', 'CREATE SUBSCRIPTION',
      'ALTER SUBSCRIPTION', 'DROP SUBSCRIPTION', 'CREATE EVENT TRIGGER', 'ALTER EVENT TRIGGER', 'DROP EVENT TRIGGER') THEN
    RETURN;
  END IF;

  IF nested THEN
    note := 'ran inside a function or DO block (' || replace(ctx, E'\n', ' <- ') || '), so its statement is unknown; do it on the other side by hand';
  ELSE
    IF stmt ~* '^create\s+(global\s+|local\s+)?temp(orary)?\s' OR (tg_tag = 'SELECT INTO' AND stmt ~* '\minto\s+temp(orary)?\s') THEN
      RETURN;
    ELSIF tg_tag IN ('GRANT', 'REVOKE') AND stmt ~* '\mon\s+(all\s+[a-z]+\s+in\s+)?(schema\s+"?cutover"?(\s|,|;|$)|([a-z]+\s+)?"?cutover"?\s*\.)' THEN
      -- Privileges on the control schema are each side's own (its installer grants them there);
      -- GRANT has no object identity to filter on above, so its text says which schema it names.
      RETURN;
    ELSIF stmt IS NULL THEN
      note := 'no statement of the query matches ' || tg_tag || '; do it on the other side by hand';
    ELSE
      -- The other side runs it inside the apply transaction, where CONCURRENTLY is not allowed.
      cmd := regexp_replace(stmt, '^(create\s+(unique\s+)?index\s+)concurrently\s', '\1', 'i');
      cmd := regexp_replace(cmd, '^(drop\s+index\s+)concurrently\s', '\1', 'i');
      cmd := regexp_replace(cmd, '(\sdetach\s+partition\s.*)\sconcurrently\s*$', '\1', 'i');
    END IF;
  END IF;

  -- Columns added with a non-constant DEFAULT (now(), current_user, array[now()]): existing rows
  -- read the value computed here, which the other side sets instead of computing its own. The
  -- missing value is an array of one element of the column's type, an array too for an array
  -- column: its text as text[] gives that element's text either way. A default computed NULL
  -- leaves no missing value (PostgreSQL stores none for a NULL): logged as null, since the other
  -- side may compute a value (r24: inet_client_addr() over a Unix socket, a setting of the
  -- session's). Every such column of the altered tables and their partitions and children (which
  -- the change recursed into) is logged, the ones added earlier too: which columns this statement
  -- added is not in the catalogs here, and the replay applies only to the ones it adds there.
  -- PostgreSQL 10 has no missing values (nor the columns: every ALTER TABLE failed there on
  -- reading them): a column added with a default rewrites the table, which the capture refuses on
  -- a table with rows (above), so there is nothing to carry.
  IF tg_tag = 'ALTER TABLE' AND current_setting('server_version_num')::int >= 110000 THEN
    SELECT coalesce(jsonb_agg(jsonb_build_object('table', format('%I.%I', n.nspname, k.relname), 'column', a.attname,
        'value', CASE WHEN a.atthasmissing THEN (a.attmissingval::text::text[])[1] END)), '[]') INTO missing
      FROM pg_attribute a JOIN pg_class k ON k.oid = a.attrelid JOIN pg_namespace n ON n.oid = k.relnamespace
      JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid IN (WITH RECURSIVE tree(oid) AS (SELECT unnest(touched)
            UNION SELECT i.inhrelid FROM pg_inherits i JOIN tree ON i.inhparent = tree.oid) SELECT oid FROM tree)
        AND k.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped AND d.adbin::text NOT LIKE '{CONST %';
  END IF;

  INSERT INTO cutover.ddl_log (id, source, role, search_path, styles, tag, command, query, objects, missing_values, rows_follow, note)
    VALUES (md5(random()::text || clock_timestamp()::text || pg_backend_pid()::text), cutover.ddl_side(),
      CASE WHEN current_setting('role') = 'none' THEN session_user ELSE current_setting('role') END,
      path, styles, tg_tag, cmd, q, objs, missing, tg_tag IN ('CREATE TABLE AS', 'SELECT INTO'), note);

  FOR i IN 1 .. coalesce(array_length(touched, 1), 0) LOOP
    guard := concat_ws('; ', guard, cutover.ddl_guard(touched[i]));
  END LOOP;
  IF guard <> '' THEN
    RAISE WARNING 'cutover: %', guard;
  END IF;
END $f$;

-- The statement an ALTER TYPE ... ADD VALUE becomes where the value may be there already (with IF
-- NOT EXISTS), or null for any other statement. Trigger capture and relay apply many source
-- transactions in one, where PostgreSQL refuses a value that same transaction added ("unsafe use of
-- new value"), so their apply commits such a change ahead on a connection of its own
-- (EnumValuesAhead.java), and the replay, or an operator's ADD VALUE by hand, must not fail on it.
CREATE OR REPLACE FUNCTION cutover.ddl_add_value(cmd text) RETURNS text LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp SET standard_conforming_strings = on AS $f$
DECLARE
  head text := '^(alter\s+type\s+(?:"(?:[^"]|"")*"|[^\s";.]+)(?:\s*\.\s*(?:"(?:[^"]|"")*"|[^\s";.]+))*\s+add\s+value\s+)';
BEGIN
  IF cmd IS NULL OR cmd !~* head THEN
    RETURN NULL;
  ELSIF cmd ~* (head || 'if\s+not\s+exists\s') THEN
    RETURN cmd;
  END IF;
  RETURN regexp_replace(cmd, head, '\1IF NOT EXISTS ', 'i');
END $f$;

-- On the side that receives cutover.ddl_log rows: runs each schema change from the other side as
-- it arrives, inside the apply transaction (native apply worker, or the trigger engine's applier,
-- both with session_replication_role = replica), so at the same point of the stream as there. Runs
-- it as the role that ran it there, with its search_path and the settings that read its literals
-- (cutover.ddl_log.styles; this session's are put back after it). Tables it creates are guarded,
-- and join the native subscription whose apply worker runs this as ready: every row they will ever hold
-- comes after this point of the stream.
CREATE OR REPLACE FUNCTION cutover.ddl_apply() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp SET standard_conforming_strings = on AS $f$
DECLARE
  before oid[];
  r record;
  sub oid;
  lsn pg_lsn;
  col record;
  numbered jsonb;
  capture text := current_setting('cutover.ddl_capture', true);
  -- The settings of cutover.ddl_log.styles, in its order, and this session's values of them.
  settings text[] := ARRAY['DateStyle', 'IntervalStyle', 'TimeZone', 'standard_conforming_strings', 'array_nulls'];
  styles text[] := ARRAY(SELECT current_setting(g) FROM unnest(settings) WITH ORDINALITY u(g, o) ORDER BY o);
  i int;
  stmt text;
  path text;
  given boolean;
  -- Read before the role changes, which may not call our functions.
  cmd text := coalesce(cutover.ddl_add_value(NEW.command), NEW.command);
  -- A table whose rows follow in the stream (CREATE TABLE AS, SELECT INTO): the statement that
  -- creates it empty, for SELECT INTO run instead of it (PL/pgSQL's EXECUTE refuses SELECT INTO).
  empty text := CASE WHEN NEW.rows_follow THEN cutover.ddl_create_empty(NEW.tag, NEW.command, coalesce(NEW.styles[4], 'on') = 'on') END;
  -- What to run here by hand when the change cannot run as it came: empty, for such a table, since
  -- its rows come after it (run in full, they would be there twice with trigger capture).
  byhand text := CASE WHEN NOT NEW.rows_follow THEN 'run the statement here by hand'
    WHEN empty IS NULL THEN 'create the table here by hand, empty (its rows follow in the stream: CREATE TABLE ... AS ... WITH NO DATA)'
    ELSE 'create the table here by hand, empty (its rows follow in the stream): ' || empty END;
BEGIN
  IF current_setting('session_replication_role') <> 'replica' OR NEW.source = cutover.ddl_side() OR NEW.command IS NULL
      OR EXISTS (SELECT 1 FROM cutover.ddl_done d WHERE d.id = NEW.id) THEN
    RETURN NULL;
  END IF;
  -- The event triggers fire in replica mode too (ENABLE ALWAYS): what is replayed here came from
  -- the other side and must not be captured back, nor what the replay does after it.
  PERFORM pg_catalog.set_config('cutover.ddl_capture', 'off', true);
  SELECT pg_catalog.array_agg(oid) INTO before FROM pg_catalog.pg_class WHERE relkind OPERATOR(pg_catalog.=) ANY ('{r,p}'::"char"[]);
  -- The highest column number of each table whose missing values the change carries: a column
  -- numbered above it afterwards is one the replay added.
  SELECT pg_catalog.jsonb_object_agg(m.t, coalesce((SELECT pg_catalog.max(a.attnum) FROM pg_catalog.pg_attribute a
      WHERE a.attrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(m.t)), 0)) INTO numbered
    FROM (SELECT DISTINCT e OPERATOR(pg_catalog.->>) 'table' AS t FROM pg_catalog.jsonb_array_elements(NEW.missing_values) e) m;
  -- The recorded search_path is one that role NEW.role chose: functions and operators of its own
  -- may shadow pg_catalog's on it. It is in force only while the statement runs, between
  -- SET LOCAL ROLE and the restore of this function's pinned path, which comes before RESET ROLE;
  -- whatever else runs meanwhile is schema-qualified, operators included, or a plain variable, so
  -- nothing of that role's is ever called as the superuser that applies (r10: a planted
  -- s2.set_config, called unqualified after RESET ROLE, made the role a superuser on new).
  stmt := CASE WHEN NEW.tag OPERATOR(pg_catalog.=) 'SELECT INTO' THEN coalesce(empty, cmd) ELSE cmd END;
  path := NEW.search_path;
  -- The statement runs inside pg_temp.cutover_replay, a SECURITY DEFINER function of NEW.role's:
  -- SET LOCAL ROLE alone would not hold code of that role's which the statement runs (a function
  -- its CREATE TABLE AS selects, a CHECK it validates), since RESET ROLE and SET ROLE are allowed
  -- wherever the session's user is a superuser, as the apply's is; inside a SECURITY DEFINER
  -- function PostgreSQL refuses both. Made here and given to the role, which a superuser may do
  -- whatever the role's privileges; else made below as the role, which needs TEMPORARY.
  BEGIN
    CREATE FUNCTION pg_temp.cutover_replay(cmd text) RETURNS void LANGUAGE plpgsql SECURITY DEFINER AS 'BEGIN EXECUTE cmd; END';
    EXECUTE pg_catalog.format('ALTER FUNCTION pg_temp.cutover_replay(text) OWNER TO %I', NEW.role);
    given := true;
  EXCEPTION WHEN OTHERS THEN
    given := false;
  END;
  -- In a block of its own, so that a role this side's replicator may not become is said as such.
  BEGIN
    EXECUTE pg_catalog.format('SET LOCAL ROLE %I', NEW.role);
  EXCEPTION WHEN OTHERS THEN
    RAISE EXCEPTION 'cutover: the schema change % from % failed here: % (role % made it there, and role % may not become it here)',
        NEW.id, NEW.source, SQLERRM, NEW.role, current_user
      USING ERRCODE = SQLSTATE, DETAIL = 'statement: ' || NEW.command || ' (as role ' || NEW.role || ', search_path ' || NEW.search_path || ')',
        HINT = format('Let it: GRANT %I TO %I here (as a superuser or a role with ADMIN OPTION on it), or %s after SET cutover.ddl_capture = off'
          || ' and run `cutover-replicator ddl-done %s` so that it is skipped; `cutover-replicator check` names such roles in advance.',
          NEW.role, current_user, byhand, NEW.id);
  END;
  IF NOT given THEN
    BEGIN
      CREATE FUNCTION pg_temp.cutover_replay(cmd text) RETURNS void LANGUAGE plpgsql SECURITY DEFINER AS 'BEGIN EXECUTE cmd; END';
    EXCEPTION WHEN OTHERS THEN
      RAISE EXCEPTION 'cutover: the schema change % from % cannot be replayed here as role %: %', NEW.id, NEW.source, NEW.role, SQLERRM
        USING ERRCODE = SQLSTATE, DETAIL = 'It runs inside a temporary SECURITY DEFINER function of that role''s, so that code the statement'
          || ' runs cannot leave the role; role ' || session_user || ', which applies, could not make it for the role (no superuser).',
        HINT = pg_catalog.format('GRANT TEMPORARY ON DATABASE %I TO %I here, or %s after SET cutover.ddl_capture = off'
          || ' and run `cutover-replicator ddl-done %s` so that it is skipped.', pg_catalog.current_database(), NEW.role, byhand, NEW.id);
    END;
  END IF;
  BEGIN
    -- Rows from earlier builds carry two settings or none. Only DateStyle's field order decides how
    -- a date is read; its output stays ISO (PgJDBC, which an apply session may be, drops a session
    -- whose DateStyle stops being ISO). A time zone this side does not know fails here, with the hint.
    -- Set before the recorded path, under this function's own.
    FOR i IN 1 .. coalesce(pg_catalog.array_length(NEW.styles, 1), 0) LOOP
      PERFORM pg_catalog.set_config(settings[i], CASE WHEN i OPERATOR(pg_catalog.=) 1
        THEN 'ISO, ' OPERATOR(pg_catalog.||) pg_catalog.btrim(pg_catalog.split_part(NEW.styles[1], ',', 2)) ELSE NEW.styles[i] END, true);
    END LOOP;
    PERFORM pg_catalog.set_config('search_path', path, true);
    PERFORM pg_temp.cutover_replay(stmt);
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    DROP FUNCTION pg_temp.cutover_replay(text);
  EXCEPTION WHEN OTHERS THEN
    -- The block's settings are undone: this function's path is back.
    RAISE EXCEPTION 'cutover: the schema change % from % failed here: %', NEW.id, NEW.source, SQLERRM
      USING ERRCODE = SQLSTATE, DETAIL = 'statement: ' || NEW.command || ' (as role ' || NEW.role || ', search_path ' || NEW.search_path || ')',
        HINT = 'Make it possible here (a missing role or extension, say), or ' || byhand || ' after SET cutover.ddl_capture = off'
          || ' and run `cutover-replicator ddl-done ' || NEW.id || '` so that it is skipped.';
  END;
  RESET ROLE;
  FOR i IN 1 .. array_length(settings, 1) LOOP
    PERFORM set_config(settings[i], styles[i], true);
  END LOOP;
  SELECT subid INTO sub FROM pg_stat_subscription WHERE pid = pg_backend_pid();
  FOR r IN SELECT k.oid, k.relkind, k.relpersistence FROM pg_class k WHERE k.relkind IN ('r', 'p') AND k.oid <> ALL (coalesce(before, '{}')) LOOP
    IF NEW.rows_follow AND r.relkind = 'r' THEN
      -- CREATE TABLE AS computed its rows here too (SELECT INTO's runs WITH NO DATA); the stream
      -- brings old's right after.
      EXECUTE format('TRUNCATE %s', r.oid::regclass);
    END IF;
    PERFORM cutover.ddl_guard(r.oid);
    IF sub IS NOT NULL AND r.relkind = 'r' AND r.relpersistence = 'p'
        AND NOT EXISTS (SELECT 1 FROM pg_subscription_rel s WHERE s.srsubid = sub AND s.srrelid = r.oid) THEN
      IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        -- Before 13 the LSN column is NOT NULL and 0/0 means none.
        lsn := CASE WHEN current_setting('server_version_num')::int < 130000 THEN '0/0'::pg_lsn END;
        INSERT INTO pg_subscription_rel (srsubid, srrelid, srsubstate, srsublsn) VALUES (sub, r.oid, 'r', lsn);
      ELSE
        INSERT INTO cutover.ddl_refresh VALUES (r.oid, sub) ON CONFLICT DO NOTHING;
      END IF;
    END IF;
  END LOOP;
  FOR r IN SELECT to_regclass(o->>'identity') AS rel FROM jsonb_array_elements(NEW.objects) o WHERE o->>'type' = 'table' LOOP
    IF r.rel IS NOT NULL THEN
      PERFORM cutover.ddl_guard(r.rel);
    END IF;
  END LOOP;
  -- A table that was here before the change and is permanent now but not in the subscription (SET
  -- LOGGED: the other side publishes it from this change on, as its guard added it there; one made
  -- here by hand after its CREATE TABLE failed): the apply worker would skip every change to it.
  -- Registered to be copied (state init), as REFRESH PUBLICATION WITH (copy_data = true) would:
  -- a table sync worker copies the other side's rows and streams on from there, so what this side
  -- held of it (an unlogged table's rows as start copied them) goes first. Without a superuser,
  -- status names it with the REFRESH to run.
  IF sub IS NOT NULL AND (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    FOR r IN SELECT DISTINCT k.oid FROM jsonb_array_elements(NEW.objects) o
        JOIN pg_class k ON k.oid = to_regclass(o->>'identity') JOIN pg_namespace n ON n.oid = k.relnamespace
        WHERE o->>'type' = 'table' AND k.relkind = 'r' AND k.relpersistence = 'p' AND k.oid = ANY (coalesce(before, '{}'))
          AND n.nspname NOT IN ('cutover', 'pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
          AND NOT EXISTS (SELECT 1 FROM pg_subscription_rel s WHERE s.srsubid = sub AND s.srrelid = k.oid) LOOP
      EXECUTE format('DELETE FROM %s', r.oid::regclass);
      lsn := CASE WHEN current_setting('server_version_num')::int < 130000 THEN '0/0'::pg_lsn END;
      INSERT INTO pg_subscription_rel (srsubid, srrelid, srsubstate, srsublsn) VALUES (sub, r.oid, 'i', lsn);
    END LOOP;
  END IF;
  -- Give existing rows the value the other side computed for a column added with a non-constant
  -- default: copied into pg_attribute.attmissingval from a scratch column that got it as a constant,
  -- or, where it was NULL there, none. Whether or not this side computed one of its own (before, a
  -- column it computed NULL for kept NULL, r24); only for columns the replay added: an older one's
  -- missing value here is what its own replay set, and old's may have gone since (a rewrite there
  -- writes it into the rows and clears it), which must not clear new's.
  -- Not on 10, which has no missing values: the query, planned when it first runs, would fail on
  -- the columns its catalog lacks.
  IF current_setting('server_version_num')::int >= 110000 THEN
    FOR col IN SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod) AS type, m->>'value' AS value
        FROM jsonb_array_elements(NEW.missing_values) m JOIN pg_attribute a ON a.attrelid = to_regclass(m->>'table') AND a.attname = m->>'column'
        WHERE NOT a.attisdropped AND a.attnum > coalesce((numbered ->> (m->>'table'))::int, 0)
          AND CASE WHEN a.atthasmissing THEN (a.attmissingval::text::text[])[1] END IS DISTINCT FROM m->>'value' LOOP
      IF col.value IS NULL THEN
        UPDATE pg_attribute SET atthasmissing = false, attmissingval = NULL WHERE attrelid = col.attrelid AND attname = col.attname;
        CONTINUE;
      END IF;
      CREATE TEMP TABLE cutover_missing_value (x int);
      EXECUTE format('ALTER TABLE pg_temp.cutover_missing_value ADD COLUMN v %s DEFAULT %L', col.type, col.value);
      UPDATE pg_attribute a SET atthasmissing = true, attmissingval = s.attmissingval FROM pg_attribute s
        WHERE s.attrelid = 'pg_temp.cutover_missing_value'::regclass AND s.attname = 'v' AND a.attrelid = col.attrelid AND a.attname = col.attname;
      DROP TABLE pg_temp.cutover_missing_value;
    END LOOP;
  END IF;
  PERFORM set_config('cutover.ddl_capture', coalesce(capture, ''), true);
  RETURN NULL;
END $f$;

-- Defence in depth: even a role that was granted INSERT on schema cutover's tables cannot write
-- the log, since only the capture (SECURITY DEFINER, running as the log's owner) may. Replicated
-- rows bypass this (session_replication_role = replica, which only a superuser can set).
CREATE OR REPLACE FUNCTION cutover.ddl_log_guard() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $f$
BEGIN
  IF current_user <> (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = TG_RELID) THEN
    RAISE EXCEPTION 'cutover: only the schema change capture may write %.%, not role %', TG_TABLE_SCHEMA, TG_TABLE_NAME, current_user
      USING ERRCODE = '42501';
  END IF;
  RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $f$;
DROP TRIGGER IF EXISTS ddl_log_guard ON cutover.ddl_log;
CREATE TRIGGER ddl_log_guard BEFORE INSERT OR UPDATE OR DELETE ON cutover.ddl_log FOR EACH ROW EXECUTE PROCEDURE cutover.ddl_log_guard();

-- Earlier signatures, dropped only now: every statement of this script fires the event trigger,
-- whose cutover.ddl_record must find the functions it calls, in its old version until it was
-- replaced above and in its new one after (a drop before that failed a start over an install).
DROP FUNCTION IF EXISTS cutover.ddl_split(text);
DROP FUNCTION IF EXISTS cutover.ddl_matches(text, text);

-- Only the event trigger, the apply trigger and the capture's own code call these.
REVOKE ALL ON FUNCTION cutover.ddl_capture(), cutover.ddl_record(text, text, text, text[], boolean, text), cutover.ddl_apply(),
  cutover.ddl_guard(oid), cutover.ddl_side(), cutover.ddl_split(text, boolean), cutover.ddl_unlead(text),
  cutover.ddl_matches(text, text, text), cutover.ddl_add_value(text), cutover.ddl_create_empty(text, text, boolean),
  cutover.ddl_unrepeatable(text), cutover.ddl_log_guard() FROM PUBLIC;

DROP TRIGGER IF EXISTS ddl_apply ON cutover.ddl_log;
CREATE TRIGGER ddl_apply AFTER INSERT ON cutover.ddl_log FOR EACH ROW EXECUTE PROCEDURE cutover.ddl_apply();
ALTER TABLE cutover.ddl_log ENABLE ALWAYS TRIGGER ddl_apply;
