#!/usr/bin/env bash
# Samples, every 50 ms, each session of a running benchmark's embedded servers that waits on
# something other than its client or idleness (a lock, I/O, an LWLock), one file per server:
# $1.PORT, lines time|port|pid|database|backend type|wait type|wait event|query. Start it beside a
# benchmark (docs/benchmarks.md, "Two round trips fewer per batch"); it attaches once two servers
# listen and stops when they go (or kill it). A session that is slow but never listed was waiting
# for a core. Needs psql.
set -euo pipefail
out="${1:?a file name prefix}"
ports=""
while [ "$(printf '%s\n' "$ports" | grep -c .)" -lt 2 ]; do
  sleep 0.5
  ports="$(ss -ltnp 2>/dev/null | grep postgres | grep -o '127.0.0.1:[0-9]*' | cut -d: -f2 | sort -u || true)"
done
for port in $ports; do
  echo "SELECT to_char(clock_timestamp(), 'HH24:MI:SS.MS'), $port, pid, datname, backend_type, wait_event_type, wait_event,
    left(regexp_replace(query, '\s+', ' ', 'g'), 70) FROM pg_stat_activity WHERE pid <> pg_backend_pid()
    AND state IS DISTINCT FROM 'idle' AND wait_event_type NOT IN ('Client', 'Activity') \watch 0.05" |
    psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atq -F '|' > "$out.$port" 2>&1 &
done
wait
