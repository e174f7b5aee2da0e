#!/usr/bin/env bash
# Logins of two builds at once, argon2 made cheap (8 KiB, one pass): the CPU each server, and on PostgreSQL each
# database's backends, spent per login. Both run in the same seconds, so they see the same machine: on a VM whose
# speed drifts by a fifth from minute to minute, alternating rounds (bench/login_ab.sh) cannot tell a 10 % change
# apart, but the ratio of two builds measured together holds steady.
#
#   bench/login_pair.sh /tmp/before/latchkey target/release/latchkey                  # SQLite
#   DATABASE=postgres ROUNDS=4 bench/login_pair.sh /tmp/before/latchkey target/release/latchkey
#
# Each round: two fresh databases, 64 accounts each, a 2 s warm-up, then 8 s (DURATION) of wrk -t1 -c8 against each
# server at once, login limits on (as deployed). Prints per round each build's logins/s and milliseconds of CPU per
# login, and B's CPU per login as a share of A's. Absolute figures are inflated (two servers share the cores); the
# ratios are the result.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/server.sh

[ $# -eq 2 ] || { echo "usage: $0 BINARY_A BINARY_B" >&2; exit 2; }
DATABASE="${DATABASE:-sqlite}"
DURATION="${DURATION:-8}"
ACCOUNTS=64
workdir="$(mktemp -d)"
pids=()
databases=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  for name in "${databases[@]}"; do
    psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" >/dev/null 2>&1 || true
  done
  rm -rf "$workdir"
}
trap cleanup EXIT

# Clock ticks of user and system time of the given processes (those gone meanwhile count as nothing).
ticks() {
  local total=0 pid
  for pid in "$@"; do
    if [ -r "/proc/$pid/stat" ]; then
      total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
    fi
  done
  echo "$total"
}

# The backends connected to database $1.
backends() {
  psql -qAt -h 127.0.0.1 -U postgres -c "SELECT pid FROM pg_stat_activity WHERE datname = '$1'"
}

# Starts BINARY on PORT with a fresh database named NAME and registers the accounts; prints the server's pid.
start() {
  local binary="$1" port="$2" name="$3" url
  if [ "$DATABASE" = postgres ]; then
    psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE $name" >/dev/null
    url="postgres://postgres@127.0.0.1:5432/$name"
  else
    url="sqlite://$workdir/$name.db"
  fi
  LATCHKEY__SERVER__BIND="127.0.0.1:$port" LATCHKEY__DATABASE__URL="$url" LATCHKEY__LOG__FILTER=error \
    LATCHKEY__JWT__SECRET="bench-secret-bench-secret-bench-secret-0123456789" \
    LATCHKEY__ARGON2__MEMORY_KIB=8 LATCHKEY__ARGON2__ITERATIONS=1 "$binary" serve >/dev/null &
  echo $! >"$workdir/pid.$port"
  wait_ready "$port"
  for i in $(seq 1 "$ACCOUNTS"); do
    curl -fsS -o /dev/null -X POST "http://127.0.0.1:$port/api/v1/auth/register" -H 'Content-Type: application/json' \
      -d "{\"email\":\"bench${i}@example.com\",\"password\":\"${BENCH_PASSWORD}\"}"
  done
}

# Both servers' logins at once for $1 seconds; wrk's output in $workdir/wrk.PORT.
flood_both() {
  local port wrk_pids=()
  for port in 18141 18142; do
    ACCOUNTS="$ACCOUNTS" wrk -t1 -c8 -d"$1s" -s bench/logins_many.lua "http://127.0.0.1:$port/api/v1/auth/login" \
      >"$workdir/wrk.$port" &
    wrk_pids+=($!)
  done
  wait "${wrk_pids[@]}"
}

for round in $(seq 1 "${ROUNDS:-3}"); do
  name_a="latchkey_pair_a_$$_$round"
  name_b="latchkey_pair_b_$$_$round"
  [ "$DATABASE" = postgres ] && databases+=("$name_a" "$name_b")
  start "$1" 18141 "$name_a"
  start "$2" 18142 "$name_b"
  server_a="$(cat "$workdir/pid.18141")"
  server_b="$(cat "$workdir/pid.18142")"
  pids+=("$server_a" "$server_b")
  flood_both 2
  database_a=()
  database_b=()
  if [ "$DATABASE" = postgres ]; then
    mapfile -t database_a < <(backends "$name_a")
    mapfile -t database_b < <(backends "$name_b")
  fi
  before="$(ticks "$server_a") $(ticks "$server_b") $(ticks "${database_a[@]}") $(ticks "${database_b[@]}")"
  flood_both "$DURATION"
  after="$(ticks "$server_a") $(ticks "$server_b") $(ticks "${database_a[@]}") $(ticks "${database_b[@]}")"
  logins_a="$(awk '/requests in/ {print $1}' "$workdir/wrk.18141")"
  logins_b="$(awk '/requests in/ {print $1}' "$workdir/wrk.18142")"
  kill "$server_a" "$server_b"
  wait "$server_a" "$server_b" 2>/dev/null || true
  python3 - "$round" "$DURATION" "$(getconf CLK_TCK)" "$logins_a" "$logins_b" $before $after <<'EOF'
import sys
round_, seconds, tick, logins_a, logins_b = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
before, after = list(map(int, sys.argv[6:10])), list(map(int, sys.argv[10:14]))
used = [(a - b) * 1000 / tick for a, b in zip(after, before)]
server_a, server_b = used[0] / logins_a, used[1] / logins_b
line = (f"round {round_}: A {logins_a / seconds:.0f} logins/s, server {server_a:.3f} ms"
        f" | B {logins_b / seconds:.0f} logins/s, server {server_b:.3f} ms | B/A server {server_b / server_a:.2f}")
if used[2] > 0:
    database_a, database_b = used[2] / logins_a, used[3] / logins_b
    line += f", database {database_b / database_a:.2f} ({database_a:.3f} -> {database_b:.3f} ms a login)"
print(line)
EOF
  if [ "$DATABASE" = postgres ]; then
    psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE $name_a WITH (FORCE)" -c "DROP DATABASE $name_b WITH (FORCE)" \
      >/dev/null
  fi
done
