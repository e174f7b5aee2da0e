#!/usr/bin/env bash
# A/B of password logins between two latchkey binaries, with argon2 made cheap (8 KiB, one pass) so that what is
# measured is each login's own work: its lookups, its writes and their commits, signing, HTTP. Alternating rounds on
# fresh databases, so both builds see the same machine noise. For "what did this change do to a login's cost":
#
#   git worktree add /tmp/before <rev> && (cd /tmp/before && cargo build --release -p latchkey-server)
#   cargo build --release -p latchkey-server
#   bench/login_ab.sh /tmp/before/target/release/latchkey target/release/latchkey
#   DATABASE=postgres bench/login_ab.sh A B      # a fresh PostgreSQL database per run, at 127.0.0.1:5432
#
# Logins are spread over ACCOUNTS accounts (default 64), as a deployment's are; ACCOUNTS=1 sends every login to one
# account, whose row lock then orders them one after the other on PostgreSQL.
#
# The login limits are on, as deployed (every login here is right, so none is refused, but each counts its
# attempts and gives them back); LIMITS=off turns them off. Prints logins/s and median latency per round
# (wrk -t1 -c16, DURATION per run, default 8s). PERF=1 adds the server's CPU time and context switches per login
# (perf stat on its process; needs Debian's linux-perf).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/server.sh

DATABASE="${DATABASE:-sqlite}"
ACCOUNTS="${ACCOUNTS:-64}"
limits=()
if [ "${LIMITS:-on}" = off ]; then
  limits=(LATCHKEY__THROTTLE__LOGIN_PER_ADDRESS=off LATCHKEY__THROTTLE__LOGIN_PER_ACCOUNT=off)
fi

one_run() {
  local binary="$1" port="$2" dir pid api url name="" perf_pid=""
  dir="$(mktemp -d)"
  case "$DATABASE" in
    sqlite) url="sqlite://$dir/bench.db" ;;
    postgres)
      name="latchkey_login_ab_$$_$port"
      psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE $name" >/dev/null
      url="postgres://postgres@127.0.0.1:5432/$name"
      ;;
    *) echo "DATABASE is sqlite or postgres" >&2; exit 2 ;;
  esac
  env LATCHKEY__SERVER__BIND="127.0.0.1:$port" LATCHKEY__DATABASE__URL="$url" LATCHKEY__LOG__FILTER=error \
    LATCHKEY__JWT__SECRET="bench-secret-bench-secret-bench-secret-0123456789" \
    LATCHKEY__ARGON2__MEMORY_KIB=8 LATCHKEY__ARGON2__ITERATIONS=1 "${limits[@]}" "$binary" serve &
  pid=$!
  wait_ready "$port"
  api="http://127.0.0.1:$port/api/v1"
  for i in $(seq 1 "$ACCOUNTS"); do
    curl -fsS -o /dev/null -X POST "$api/auth/register" -H 'Content-Type: application/json' \
      -d "{\"email\":\"bench${i}@example.com\",\"password\":\"${BENCH_PASSWORD}\"}"
  done
  if [ "${PERF:-0}" = 1 ]; then
    # The server's CPU time and context switches over the run, divided by the logins it answered below.
    perf stat -x, -e task-clock,context-switches -p "$pid" -o "$dir/perf.csv" -- sleep "${DURATION:-8s}" &
    perf_pid=$!
  fi
  ACCOUNTS="$ACCOUNTS" wrk -t1 -c16 -d"${DURATION:-8s}" --latency -s bench/logins_many.lua "$api/auth/login" \
    >"$dir/wrk.txt"
  if [ -n "${perf_pid:-}" ]; then wait "$perf_pid"; fi
  awk '/Requests\/sec/ {rps = $2} $1 == "50%" {p50 = $2} /Non-2xx/ {bad = $NF}
       END {printf "%s logins/s, p50 %s%s", rps, p50, bad ? ", non-2xx " bad : ""}' "$dir/wrk.txt"
  if [ "${PERF:-0}" = 1 ]; then
    awk -F, 'FNR == NR && / requests in / {n = $1} FNR != NR && $3 == "task-clock" {ms = $1}
             FNR != NR && $3 == "context-switches" {cs = $1}
             END {printf ", %.2f ms CPU and %.1f context switches a login", ms / n, cs / n}' \
      "$dir/wrk.txt" "$dir/perf.csv"
  fi
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  if [ -n "$name" ]; then
    psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $name" >/dev/null
  fi
  rm -rf "$dir"
}

for round in $(seq 1 "${ROUNDS:-3}"); do
  echo "round $round: A $(one_run "$1" 18111) | B $(one_run "$2" 18112)"
done
