#!/usr/bin/env bash
# What a new connection costs the server on this machine: the backend CPU (user and system) that
# pgbench -C spends per connection, against a throwaway server of Debian's PostgreSQL, once with the
# settings every test server gets (testkit's ServerSettings) and once with initdb's defaults. Read
# from the postmaster's children's CPU (/proc/PID/stat fields 16 and 17) before and after.
# Needs Debian's postgresql (server binaries) and pgbench; run as root it runs the server as postgres.
#   benchmarks/scripts/connection-cost.sh            # 1,000 connections per variant
#   CONNECTIONS=2000 PG_BIN=/usr/lib/postgresql/15/bin benchmarks/scripts/connection-cost.sh
set -euo pipefail
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}
CONNECTIONS=${CONNECTIONS:-1000}
PORT=${PORT:-55439}
TESTS="-c wal_level=logical -c max_replication_slots=40 -c max_wal_senders=40 -c max_worker_processes=40
  -c max_logical_replication_workers=30 -c max_connections=300 -c max_prepared_transactions=10
  -c shared_preload_libraries=pg_stat_statements -c synchronous_commit=on"
work=$(mktemp -d /tmp/connection-cost.XXXXXX)
chmod 777 "$work"
as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -c "$1"; else bash -c "$1"; fi; }
stop() { as_pg "$PG_BIN/pg_ctl -D $work/data -m fast stop >/dev/null 2>&1" || true; }
trap 'stop; rm -rf "$work"' EXIT
ticks=$(getconf CLK_TCK)
for variant in tests defaults; do
  settings=$([ "$variant" = tests ] && echo $TESTS || true)
  rm -rf "$work/data"
  as_pg "$PG_BIN/initdb -D $work/data -U postgres -A trust >/dev/null"
  as_pg "$PG_BIN/pg_ctl -D $work/data -l $work/log -w start -o '-c port=$PORT -c listen_addresses=localhost -c unix_socket_directories=$work -c fsync=off $settings' >/dev/null"
  pid=$(head -1 "$work/data/postmaster.pid")
  read -r u0 s0 < <(awk '{print $16, $17}' "/proc/$pid/stat")
  pgbench -h localhost -p "$PORT" -U postgres -n -C -c 2 -j 2 -t $((CONNECTIONS / 2)) -f <(echo "SELECT 1;") postgres >/dev/null
  read -r u1 s1 < <(awk '{print $16, $17}' "/proc/$pid/stat")
  awk -v v="$variant" -v n="$CONNECTIONS" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v t="$ticks" 'BEGIN {
    printf "%s: %d connections, backend CPU per connection %.1f ms user + %.1f ms system\n", v, n, u * 1000 / t / n, s * 1000 / t / n }'
  stop
done
