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

one_run() {
  local binary="$1" port="$2" dir pid api token
  dir="$(mktemp -d)"
  LATCHKEY__SERVER__BIND="127.0.0.1:$port" LATCHKEY__DATABASE__URL="sqlite://$dir/bench.db" \
    LATCHKEY__LOG__FILTER=error "$binary" serve &
  pid=$!
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && break
    sleep 0.1
  done
  api="http://127.0.0.1:$port/api/v1"
  curl -fsS -o /dev/null -X POST "$api/auth/register" -H 'Content-Type: application/json' \
    -d '{"email":"bench@example.com","password":"benchmark password"}'
  token="$(curl -fsS -X POST "$api/auth/login" -H 'Content-Type: application/json' \
    -d '{"username":"bench@example.com","password":"benchmark password"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
  wrk -t2 -c64 -d"${DURATION:-8s}" -H "Authorization: Bearer $token" "$api/auth/me" |
    awk '/Requests\/sec/ {print $2}'
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
}

for round in 1 2 3; do
  echo "round $round: A $(one_run "$1" 18101) req/s, B $(one_run "$2" 18102) req/s"
done
