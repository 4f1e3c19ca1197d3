#!/usr/bin/env bash
# By-hand measurements of trigger capture's cost on the writer, with pgbench against a throwaway
# server (docs/benchmarks.md, "trigger capture on a table with json columns"; docs/design-decisions.md,
# "what a row costs on the source"). Rounds run the variants in turn; medians are printed.
#
#   benchmarks/scripts/capture-cost.sh json    # a table with jsonb columns: no capture / the lean function / the JSON null check
#   benchmarks/scripts/capture-cost.sh index   # TPC-B: no capture / the change log's btree on txid / a BRIN index instead
#   benchmarks/scripts/capture-cost.sh definer # TPC-B: no capture / the capture functions SECURITY DEFINER (as installed) / the
#                                              # same SECURITY INVOKER (which would let any writer forge log rows: measured only)
#   benchmarks/scripts/capture-cost.sh replica # one-row inserts in session_replication_role = replica into a captured table:
#                                              # no capture triggers (as ordinary ones, which do not fire then) / ENABLE ALWAYS
#                                              # capture triggers, which capture the session (a superuser's fix) / the same for
#                                              # a session with the apply token (an apply, such as the forward one on new)
#   benchmarks/scripts/capture-cost.sh reals   # a table with real, double and real[] columns: no capture / the capture as installed /
#                                              # the same after CaptureSchema.logRealsExactly (cutover.reals_exact on every row,
#                                              # as on new while a way back into a server older than 12 is armed)
#
# Needs PostgreSQL's server binaries with pgbench (PGBIN, default /usr/lib/postgresql/15/bin;
# Debian: apt-get install postgresql-15), JDK 17 and Maven. Run as root, the server runs as nobody.
# ROUNDS (3), SECONDS_EACH (8) and SERVER_OPTIONS (appended to the server's command line, e.g.
# "-c synchronous_commit=off" where a shared disk's commit flushes would hide the functions' CPU cost).
set -euo pipefail
what="${1:?json, index, definer, replica or reals}"
rounds="${ROUNDS:-3}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
pgbin="${PGBIN:-/usr/lib/postgresql/15/bin}"
port="${PORT:-55439}"
data="$(mktemp -d)"
as() { if [ "$(id -u)" = 0 ]; then su nobody -s /bin/bash -c "$*"; else bash -c "$*"; fi; }
[ "$(id -u)" = 0 ] && chown nobody "$data"
as "$pgbin/initdb -D $data -U postgres >/dev/null && $pgbin/pg_ctl -D $data -o '-p $port -k /tmp ${SERVER_OPTIONS:-}' -l $data/log -w start >/dev/null"
trap 'as "$pgbin/pg_ctl -D $data -m fast stop >/dev/null"; rm -rf "$data"' EXIT
psql() { command psql -h /tmp -p "$port" -U postgres -d bench -qAtX "$@"; }
pgbench() { "$pgbin/pgbench" -h /tmp -p "$port" -U postgres -n -c 4 -j 2 -T "${SECONDS_EACH:-8}" "$@" bench 2>&1 | sed -n 's/.*tps = \([0-9.]*\).*/\1/p'; }
command psql -h /tmp -p "$port" -U postgres -qc "CREATE DATABASE bench"

# package, not install: the build stays in this tree and leaves ~/.m2 alone.
mvn -B -q -f "$root/pom.xml" package -DskipTests -pl benchmarks -am >/dev/null
cp="$root/replicator/target/classes:$(cat "$root/benchmarks/target/bench.classpath")"
# The event trigger is disabled: it gives a table its capture triggers back at every ALTER TABLE, the
# variants' DISABLE TRIGGER USER included, which would measure "no capture" with capture.
install() {
  java -cp "$cp" "$root/benchmarks/scripts/InstallCapture.java" "jdbc:postgresql://localhost:$port/bench?user=postgres" "$@"
  psql -c "ALTER EVENT TRIGGER cutover_capture_new DISABLE"
}
scripts="$(mktemp -d)"
results="$scripts/results"

if [ "$what" = json ]; then
  psql -c "CREATE TABLE ev (id bigserial PRIMARY KEY, payload jsonb, meta jsonb, note text);
    INSERT INTO ev (payload, note) SELECT '{\"a\":1}', 'x' FROM generate_series(1, 100000)"
  install ev
  echo "INSERT INTO ev (payload, meta, note) VALUES ('{\"a\":1,\"b\":[1,2,3],\"c\":\"text\"}', NULL, 'x');" > "$scripts/insert.sql"
  printf '\\set id random(1, 100000)\nUPDATE ev SET note = %s WHERE id = :id;\n' "'y'" > "$scripts/update.sql"
  now="$(psql -c "SELECT string_agg(pg_get_triggerdef(oid), '; ') FROM pg_trigger WHERE tgrelid = 'ev'::regclass AND tgname IN ('#cutover_capture', '#cutover_capture_update')")"
  variant() {
    psql -c "TRUNCATE cutover.change_log_0, cutover.change_log_1; ALTER TABLE ev ENABLE TRIGGER USER;
      DROP TRIGGER \"#cutover_capture\" ON ev; DROP TRIGGER \"#cutover_capture_update\" ON ev"
    case "$1" in
      none) psql -c "$now; ALTER TABLE ev DISABLE TRIGGER USER" ;;
      lean) psql -c "CREATE TRIGGER \"#cutover_capture\" AFTER INSERT ON ev FOR EACH ROW EXECUTE PROCEDURE cutover.capture_row();
        CREATE TRIGGER \"#cutover_capture_update\" AFTER UPDATE ON ev FOR EACH ROW WHEN (OLD.id IS NOT DISTINCT FROM NEW.id)
        EXECUTE PROCEDURE cutover.capture_row()" ;;
      now) psql -c "$now" ;;
    esac
  }
  for r in $(seq "$rounds"); do
    for v in none lean now; do
      variant "$v"
      for s in insert update; do echo "$s $v $(pgbench -f "$scripts/$s.sql")" | tee -a "$results"; done
    done
  done
elif [ "$what" = replica ]; then
  psql -c "CREATE TABLE ev (id bigserial PRIMARY KEY, note text)"
  install ev
  token="$(psql -c "SELECT apply_token FROM cutover.capture_state")"
  for t in none "$token"; do
    printf "SET session_replication_role = replica;\nSET cutover.apply_token = '%s';\nINSERT INTO ev (note) VALUES ('x');\n" \
      "$([ "$t" = none ] && echo '' || echo "$t")" > "$scripts/$([ "$t" = none ] && echo plain || echo apply).sql"
  done
  for r in $(seq "$rounds"); do
    for v in none always always-apply; do
      psql -c "TRUNCATE cutover.change_log_0, cutover.change_log_1"
      if [ "$v" = none ]; then psql -c "ALTER TABLE ev DISABLE TRIGGER USER"; else psql -c "SELECT cutover.capture_table('ev')"; fi
      echo "insert $v $(pgbench -f "$scripts/$([ "$v" = always-apply ] && echo apply || echo plain).sql")" | tee -a "$results"
    done
  done
elif [ "$what" = reals ]; then
  psql -c "CREATE TABLE rt (id bigserial PRIMARY KEY, a real, b real, c double precision, d double precision, e real[], note text);
    INSERT INTO rt (a, b, c, d, e, note) SELECT 1.5, 2.5, 3.5, 4.5, '{1.5,2.5,3.5}', 'x' FROM generate_series(1, 100000)"
  install rt
  def="SELECT pg_get_functiondef('cutover.capture()'::regprocedure)"
  plain="$(psql -c "$def")"
  install --reals-exactly
  exact="$(psql -c "$def")"
  echo "INSERT INTO rt (a, b, c, d, e, note) VALUES (7.038531e-26, 0.1, 0.1, 1e-300, '{0.1,7.038531e-26,3.4e38}', 'x');" > "$scripts/insert.sql"
  printf '\\set id random(1, 100000)\nUPDATE rt SET a = 0.1, c = 0.2 WHERE id = :id;\n' > "$scripts/update.sql"
  variant() {
    psql -c "TRUNCATE cutover.change_log_0, cutover.change_log_1"
    case "$1" in
      none) psql -c "ALTER TABLE rt DISABLE TRIGGER USER" ;;
      plain) psql -c "ALTER TABLE rt ENABLE TRIGGER USER" -c "$plain" ;;
      exact) psql -c "ALTER TABLE rt ENABLE TRIGGER USER" -c "$exact" ;;
    esac
    psql -c "CHECKPOINT"
  }
  for r in $(seq "$rounds"); do
    for v in none plain exact; do
      variant "$v"
      for s in insert update; do echo "$s $v $(pgbench -f "$scripts/$s.sql")" | tee -a "$results"; done
    done
  done
elif [ "$what" = definer ]; then
  "$pgbin/pgbench" -h /tmp -p "$port" -U postgres -i -s 10 -q bench >/dev/null 2>&1
  install pgbench_accounts pgbench_tellers pgbench_branches pgbench_history
  for r in $(seq "$rounds"); do
    for v in none definer invoker; do
      psql -c "TRUNCATE cutover.change_log_0, cutover.change_log_1"
      for t in pgbench_accounts pgbench_tellers pgbench_branches pgbench_history; do
        psql -c "ALTER TABLE $t $([ "$v" = none ] && echo DISABLE || echo ENABLE) TRIGGER USER"
      done
      for f in "cutover.capture_row()" "cutover.capture()"; do
        psql -c "ALTER FUNCTION $f SECURITY $([ "$v" = invoker ] && echo INVOKER || echo DEFINER)"
      done
      psql -c "CHECKPOINT"
      echo "tpcb $v $(pgbench)" | tee -a "$results"
    done
  done
else
  "$pgbin/pgbench" -h /tmp -p "$port" -U postgres -i -s 10 -q bench >/dev/null 2>&1
  install pgbench_accounts pgbench_tellers pgbench_branches pgbench_history
  variant() {
    psql -c "TRUNCATE cutover.change_log_0, cutover.change_log_1"
    for t in pgbench_accounts pgbench_tellers pgbench_branches pgbench_history; do
      psql -c "ALTER TABLE $t $([ "$1" = none ] && echo DISABLE || echo ENABLE) TRIGGER USER"
    done
    local using=""
    [ "$1" = brin ] && using="USING brin"
    for n in 0 1; do
      psql -c "DROP INDEX cutover.change_log_${n}_txid; CREATE INDEX change_log_${n}_txid ON cutover.change_log_$n $using (txid)"
    done
    psql -c "CHECKPOINT"
  }
  for r in $(seq "$rounds"); do
    for v in none btree brin; do variant "$v"; echo "tpcb $v $(pgbench)" | tee -a "$results"; done
  done
fi
echo "medians (tx/s):"
for k in $(awk '{print $1 "_" $2}' "$results" | sort -u); do
  values="$(awk -v k="$k" '$1 "_" $2 == k {print $3}' "$results" | sort -n)"
  echo "${k/_/ } $(echo "$values" | sed -n "$(( ($(echo "$values" | wc -l) + 1) / 2 ))p")"
done
