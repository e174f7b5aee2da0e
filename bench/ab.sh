#!/usr/bin/env bash
# A/B of GET /auth/me (JWT) between two latchkey binaries, each on a fresh SQLite file, alternating rounds so that
# both see the same machine noise. For "what did this change do to /auth/me":
#
#   git worktree add /tmp/before <rev> && (cd /tmp/before && cargo build --release -p latchkey-server)
#   cargo build --release -p latchkey-server
#   bench/ab.sh /tmp/before/target/release/latchkey target/release/latchkey
#
#   WHAT=charge bench/ab.sh A B     # POST /credits/charges instead (a write transaction per request)
#
# Prints requests/s per round (wrk -t2 -c64, DURATION per run, default 8s).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/server.sh

one_run() {
  local binary="$1" port="$2" dir pid api token
  dir="$(mktemp -d)"
  # A welcome balance no run can spend, so that every charge is accepted.
  LATCHKEY__SERVER__BIND="127.0.0.1:$port" LATCHKEY__DATABASE__URL="sqlite://$dir/bench.db" \
    LATCHKEY__LOG__FILTER=error LATCHKEY__CREDITS__WELCOME=1000000000000 "$binary" serve &
  pid=$!
  wait_ready "$port"
  api="http://127.0.0.1:$port/api/v1"
  register_bench_account "$api"
  token="$(bench_access_token "$api")"
  case "${WHAT:-me}" in
    me) wrk -t2 -c64 -d"${DURATION:-8s}" -H "Authorization: Bearer $token" "$api/auth/me" ;;
    charge) wrk -t2 -c64 -d"${DURATION:-8s}" -s bench/charge.lua "$api/credits/charges" -- "ab-$$-$port" "$token" ;;
    *) echo "WHAT is me or charge" >&2; exit 2 ;;
  esac | awk '/Requests\/sec/ {print $2} /Non-2xx/ {print "non-2xx", $NF}' | paste -sd' '
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
}

for round in 1 2 3; do
  echo "round $round: A $(one_run "$1" 18101) req/s, B $(one_run "$2" 18102) req/s"
done
