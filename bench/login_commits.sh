#!/usr/bin/env bash
# What each login costs PostgreSQL's write-ahead log: transactions committed, WAL records, WAL flushes (fsyncs) and
# WAL bytes per login, from pg_stat_database and pg_stat_wal (PostgreSQL 14 or later) around N logins made one after
# the other on one connection (so no flush is shared between logins). Argon2 is made cheap; the login limits are
# on, as deployed (LIMITS=off turns them off). The counters are the server's: run it with nothing else writing.
# They include the server's own background work meanwhile (the outbox worker looks for email once a second).
#
#   bench/login_commits.sh                                   # this tree's release build, 200 logins
#   LATCHKEY_BIN=/tmp/before/latchkey bench/login_commits.sh # another build, for an A/B (nothing is built then)
set -euo pipefail
cd "$(dirname "$0")/.."

N="${N:-200}"
PORT="${PORT:-18121}"
if [ -z "${LATCHKEY_BIN:-}" ]; then
  cargo build --release --quiet -p latchkey-server
fi
binary="${LATCHKEY_BIN:-target/release/latchkey}"
limits=()
if [ "${LIMITS:-on}" = off ]; then
  limits=(LATCHKEY__THROTTLE__LOGIN_PER_ADDRESS=off LATCHKEY__THROTTLE__LOGIN_PER_ACCOUNT=off)
fi

DATABASE=postgres
. bench/database.sh
. bench/server.sh

env LATCHKEY__SERVER__BIND="127.0.0.1:${PORT}" LATCHKEY__DATABASE__URL="$database_url" LATCHKEY__LOG__FILTER=error \
  LATCHKEY__ARGON2__MEMORY_KIB=8 LATCHKEY__ARGON2__ITERATIONS=1 "${limits[@]}" "$binary" serve &
pids+=("$!")
wait_ready "$PORT"
api="http://127.0.0.1:${PORT}/api/v1"
register_bench_account "$api"
# A few logins first, so the address is known and every counter row exists, as on a deployment's usual login.
sequential_logins "$PORT" 3

counters() {
  psql -h 127.0.0.1 -U postgres -Atc "SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname =
    '$database_name'), wal_records, wal_sync, wal_bytes FROM pg_stat_wal"
}
# A backend reports its counters at most once a second while busy, and within 10 s once idle (PostgreSQL 15's
# PGSTAT_IDLE_INTERVAL): wait that long before each reading, so every transaction is counted where it belongs.
sleep 11
before="$(counters)"
sequential_logins "$PORT" "$N"
sleep 11
after="$(counters)"
python3 - "$N" "$before" "$after" <<'PY'
import sys
n = int(sys.argv[1])
before, after = ([int(x) for x in arg.split("|")] for arg in sys.argv[2:])
commits, records, syncs, size = ((a - b) / n for a, b in zip(after, before))
print(f"per login: {commits:.2f} transactions committed (reads included), {records:.1f} WAL records, "
      f"{syncs:.2f} WAL flushes, {size:.0f} WAL bytes")
PY
