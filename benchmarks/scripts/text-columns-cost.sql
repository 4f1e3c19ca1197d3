-- What logging two columns as their text (cutover.json_nulls's '=' columns: a type with a cast to
-- json, or arrays and composites on a way back into 9.6) costs per row, against row_to_json alone:
-- 100,000 rows each, twice. Run with psql against any scratch database (PostgreSQL 9.6+):
--   psql -X -d scratch -f benchmarks/scripts/text-columns-cost.sql
DROP TABLE IF EXISTS bt; CREATE TABLE bt (id int, tags text[], p int[]);
CREATE OR REPLACE FUNCTION bench_plain(n int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r bt; j json; BEGIN r := ROW(1, ARRAY['a','b'], ARRAY[1,2])::bt;
FOR i IN 1..n LOOP j := row_to_json(r); END LOOP; END $$;
CREATE OR REPLACE FUNCTION bench_text(n int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r bt; j json; tv text[]; tk text[] := ARRAY['tags','p']; BEGIN r := ROW(1, ARRAY['a','b'], ARRAY[1,2])::bt;
FOR i IN 1..n LOOP j := row_to_json(r);
  EXECUTE 'SELECT ARRAY[' || (SELECT string_agg('($1).' || quote_ident(u.col) || '::pg_catalog.text', ', ' ORDER BY u.pos) FROM unnest(tk) WITH ORDINALITY u(col, pos)) || ']::pg_catalog.text[]' INTO tv USING r;
  SELECT json_object_agg(e.key, CASE WHEN e.key = ANY (tk) THEN to_json(tv[array_position(tk, e.key)]) ELSE e.value END ORDER BY e.o) INTO j FROM json_each(j) WITH ORDINALITY e(key, value, o);
END LOOP; END $$;
\timing on
SELECT bench_plain(100000);
SELECT bench_text(100000);
SELECT bench_plain(100000);
SELECT bench_text(100000);
DROP FUNCTION bench_plain(int); DROP FUNCTION bench_text(int); DROP TABLE bt;
