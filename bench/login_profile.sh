#!/usr/bin/env bash
# Instructions per login outside argon2: callgrind on the release binary with argon2 made cheap (8 KiB, one pass),
# counters zeroed after a warm-up, then N logins of one account in a row. Counts instructions, not time, so it is
# repeatable whatever else the machine is doing.
#
#   bench/login_profile.sh               # SQLite, 200 logins
#   N=400 DATABASE=postgres bench/login_profile.sh
#   LIMITS=on bench/login_profile.sh     # with the default login limits, as deployed (each login counts, then gives back)
#   LATCHKEY_BIN=/tmp/before/latchkey bench/login_profile.sh   # another build, for an A/B (nothing is built then)
#
# Prints the instructions per login and the functions with the most inclusive instructions; the profile stays in
# target/login.callgrind for callgrind_annotate. Needs valgrind (installed from Debian when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

N="${N:-200}"
PORT="${PORT:-18092}"
WARM_UP=50

if ! command -v valgrind >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null
fi

if [ -z "${LATCHKEY_BIN:-}" ]; then
  cargo build --release --quiet -p latchkey-server
fi
binary="${LATCHKEY_BIN:-target/release/latchkey}"
# Limits off by default: the figures before LIMITS existed were taken so. With LIMITS=on the defaults apply; every
# login here is right, so none is refused, but each counts its attempts and gives them back.
limits=(LATCHKEY__THROTTLE__LOGIN_PER_ADDRESS=off LATCHKEY__THROTTLE__LOGIN_PER_ACCOUNT=off)
if [ "${LIMITS:-off}" = on ]; then
  limits=()
fi

. bench/database.sh
. bench/server.sh

profile="target/login.callgrind"
rm -f "$profile" "$profile".*
env LATCHKEY__SERVER__BIND="127.0.0.1:${PORT}" LATCHKEY__DATABASE__URL="$database_url" LATCHKEY__LOG__FILTER=warn \
  "${limits[@]}" \
  LATCHKEY__ARGON2__MEMORY_KIB=8 LATCHKEY__ARGON2__ITERATIONS=1 LATCHKEY__SERVER__WORKERS=1 \
  valgrind --tool=callgrind --callgrind-out-file="$profile" "$binary" serve 2>/dev/null &
pid=$!
pids+=("$pid")
# Under valgrind, start-up takes a while.
wait_ready "$PORT" 1200

api="http://127.0.0.1:${PORT}/api/v1"
register_bench_account "$api"
sequential_logins "$PORT" "$WARM_UP"
callgrind_control -z "$pid" >/dev/null
sequential_logins "$PORT" "$N"
callgrind_control -d "$pid" >/dev/null
sleep 1
dump="$(ls "$profile".* | tail -1)"
total="$(callgrind_annotate "$dump" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')"
echo "instructions per login (argon2 made cheap): $((total / N))"
callgrind_annotate --inclusive=yes "$dump" 2>/dev/null | grep -E '^ *[0-9,]+ \(' | grep -E 'latchkey_|sqlite3_step|argon2::Argon2::hash' |
  head -"${TOP:-15}" | cut -c1-160
