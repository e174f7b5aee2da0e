#!/usr/bin/env bash
# Load test of the release binary on SQLite, with an actix-web hello-world measured in the same run as a baseline.
# Credits: charges per second with a fresh Idempotency-Key per request, on one account with a large balance and
# spread over ACCOUNTS accounts, next to GET /auth/me.
#
#   bench/run.sh            # 10 s per scenario, 64 connections
#   DURATION=30s CONNECTIONS=128 bench/run.sh
#   DATABASE=postgres bench/run.sh   # a fresh database on 127.0.0.1:5432 (user postgres) instead of SQLite
#   ROUNDS=5 bench/run.sh            # /auth/me by credential (JWT, X-API-Key, PAT) in 5 alternating rounds (default 3)
#   FLOOD=0 bench/run.sh             # without the login flood at the end (bench/login_flood.sh, on DATABASE)
#
# Needs wrk (installed from Debian's packages when missing). Prints one line per scenario.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
ACCOUNTS="${ACCOUNTS:-50}"
ROUNDS="${ROUNDS:-3}"
LATCHKEY_PORT=18080
HELLO_PORT=18081

if ! command -v wrk >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi

cargo build --release --quiet -p latchkey-server
cargo build --release --quiet -p latchkey-http --example hello

. bench/database.sh
. bench/server.sh

LATCHKEY__SERVER__BIND="127.0.0.1:${LATCHKEY_PORT}" \
LATCHKEY__DATABASE__URL="$database_url" \
LATCHKEY__LOG__FILTER=warn \
LATCHKEY__CREDITS__WELCOME=1000000000000 \
  target/release/latchkey serve &
pids+=($!)
HELLO_BIND="127.0.0.1:${HELLO_PORT}" target/release/examples/hello &
pids+=($!)

for port in "$LATCHKEY_PORT" "$HELLO_PORT"; do
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "http://127.0.0.1:${port}/" 2>/dev/null && break
    curl -fsS -o /dev/null "http://127.0.0.1:${port}/healthz" 2>/dev/null && break
    sleep 0.1
  done
done

api="http://127.0.0.1:${LATCHKEY_PORT}/api/v1"
register_bench_account "$api"
token="$(bench_access_token "$api")"
api_key="$(curl -fsS -X POST "$api/auth/keys" -H "Authorization: Bearer ${token}" \
  -H 'Content-Type: application/json' -d '{"name":"bench"}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')"
expires_at="$(python3 -c 'import datetime; print((datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=30)).isoformat())')"
personal_token="$(curl -fsS -X POST "$api/auth/tokens" -H "Authorization: Bearer ${token}" \
  -H 'Content-Type: application/json' -d "{\"name\":\"bench\",\"expires_at\":\"${expires_at}\"}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"

# Accounts to spread charges over; each registration answers with its own access token.
account_tokens=()
for n in $(seq 1 "$ACCOUNTS"); do
  account_tokens+=("$(curl -fsS -X POST "$api/auth/register" -H 'Content-Type: application/json' \
    -d "{\"email\":\"bench${n}@example.com\",\"password\":\"benchmark password\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"]["access_token"])')")
done

run() {
  local name="$1"; shift
  local out
  out="$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@")"
  local rps p50 p99 non2xx
  rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
  p50="$(awk '$1 == "50%" {print $2}' <<<"$out")"
  p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
  non2xx="$(awk '/Non-2xx/ {print $NF}' <<<"$out")"
  printf '%-28s %12s req/s   p50 %-9s p99 %-9s non-2xx %s\n' "$name" "$rps" "$p50" "$p99" "${non2xx:-0}"
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
echo "wrk -t${THREADS} -c${CONNECTIONS} -d${DURATION}, database ${DATABASE}"
run "hello-world GET /" "http://127.0.0.1:${HELLO_PORT}/"
# /auth/me by credential, in ROUNDS alternating rounds so that all three see the same machine noise; the medians
# and their ratios to the JWT's are what to compare (one round's spread is as wide as the 10 % target).
declare -A me_rps
for round in $(seq 1 "$ROUNDS"); do
  me_rps[jwt]+=" $(run "GET /auth/me (JWT) #${round}" -H "Authorization: Bearer ${token}" "$api/auth/me" | tee /dev/stderr | awk '{print $(NF-7)}')"
  me_rps[key]+=" $(run "GET /auth/me (X-API-Key) #${round}" -H "X-API-Key: ${api_key}" "$api/auth/me" | tee /dev/stderr | awk '{print $(NF-7)}')"
  me_rps[pat]+=" $(run "GET /auth/me (PAT) #${round}" -H "Authorization: Bearer ${personal_token}" "$api/auth/me" | tee /dev/stderr | awk '{print $(NF-7)}')"
done 2>&1
median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
jwt_median="$(median <<<"${me_rps[jwt]}")"
for credential in jwt key pat; do
  m="$(median <<<"${me_rps[$credential]}")"
  printf '%-28s %12s req/s   ratio to JWT %.2f  (rounds:%s)\n' "GET /auth/me median (${credential})" "$m" \
    "$(awk -v a="$m" -v b="$jwt_median" 'BEGIN {print a / b}')" "${me_rps[$credential]}"
done
# Charges before the login flood: past tokens.max_sessions_per_user logins it revokes the bench account's oldest
# sessions, and with them the tokens above.
run "POST /credits/charges (1 acct)" -s bench/charge.lua "$api/credits/charges" -- "one-$$" "$token"
run "POST /credits/charges (${ACCOUNTS} acct)" -s bench/charge.lua "$api/credits/charges" -- "many-$$" "${account_tokens[@]}"
balance="$(curl -fsS "$api/auth/credits" -H "Authorization: Bearer ${token}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["credits"])')"
entries="$(curl -fsS "$api/credits/ledger?limit=1" -H "Authorization: Bearer ${token}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["entries"][0]["balance_after"])')"
echo "after the charges: the single account's balance ${balance}, its newest ledger entry's balance_after ${entries}"
run "latchkey POST /auth/login" -s bench/login.lua "$api/auth/login"

# The login flood's figures (peak memory, logins against the hashing ceiling, /auth/me during the flood) from
# bench/login_flood.sh, which starts a server and database of its own: this run's go first, so that they take no
# share of the cores.
if [ "${FLOOD:-1}" = 1 ]; then
  cleanup
  pids=()
  trap - EXIT
  echo "login flood (bench/login_flood.sh, database ${DATABASE}):"
  DATABASE="$DATABASE" CONNECTIONS=256 bench/login_flood.sh
fi
