#!/usr/bin/env bash
# A/B of GET /auth/me (JWT) between two latchkey binaries, each on a fresh SQLite file, alternating rounds so that
# both see the same machine noise. For "what did this change do to /auth/me":
#
#   git worktree add /tmp/before <rev> && (cd /tmp/before && cargo build --release -p latchkey-server)
#   cargo build --release -p latchkey-server
#   bench/ab.sh /tmp/before/target/release/latchkey target/release/latchkey
#
# Prints requests/s per round (wrk -t2 -c64, DURATION per run, default 8s).
set -euo pipefail
. "$(dirname "$0")/server.sh"

one_run() {
  local binary="$1" port="$2" dir pid api token
  dir="$(mktemp -d)"
  LATCHKEY__SERVER__BIND="127.0.0.1:$port" LATCHKEY__DATABASE__URL="sqlite://$dir/bench.db" \
    LATCHKEY__LOG__FILTER=error "$binary" serve &
  pid=$!
  wait_ready "$port"
  api="http://127.0.0.1:$port/api/v1"
  register_bench_account "$api"
  token="$(bench_access_token "$api")"
  wrk -t2 -c64 -d"${DURATION:-8s}" -H "Authorization: Bearer $token" "$api/auth/me" |
    awk '/Requests\/sec/ {print $2}'
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
}

for round in 1 2 3; do
  echo "round $round: A $(one_run "$1" 18101) req/s, B $(one_run "$2" 18102) req/s"
done
