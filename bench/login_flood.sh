#!/usr/bin/env bash
# A login flood against the release binary: peak memory, logins per second against the argon2 ceiling, and how
# /auth/me holds up meanwhile.
#
#   bench/login_flood.sh                    # SQLite, 256 connections, 10 s
#   DATABASE=postgres bench/login_flood.sh  # a fresh PostgreSQL database at 127.0.0.1:5432 (user postgres)
#   CONNECTIONS=512 DURATION=20s bench/login_flood.sh
#   LATCHKEY_BIN=/tmp/before/latchkey bench/login_flood.sh   # another build of the server, for a before/after
#
# Prints the single-thread hash time (measured in the same run, before and after the floods), the rate of every core
# hashing alone, what one hash cost its thread during the flood, the login rate and its target
# (0.95 x cores / hash time), the share of the cores' time the hashing threads had during the flood, peak RSS (VmHWM)
# and its target (100 MB + 1.5 x cores x argon2 memory), /auth/me throughput during the flood as a ratio to its
# throughput alone, and the latency of another client's logins during the flood (the wait the bounded hashing queue
# allows, and how many were refused 503 `overloaded`). Needs wrk (installed from Debian when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-10s}"
# In whole seconds, at least 3: the CPU split samples all of the flood but its first and last second.
[[ "$DURATION" =~ ^[0-9]+s$ ]] && [ "${DURATION%s}" -ge 3 ] || { echo "DURATION is whole seconds, 3s or more" >&2; exit 2; }
CONNECTIONS="${CONNECTIONS:-256}"
PORT="${PORT:-18090}"
ARGON2_MEMORY_KIB=19456

if ! command -v wrk >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi

if [ -z "${LATCHKEY_BIN:-}" ]; then
  cargo build --release --quiet -p latchkey-server
fi
binary="${LATCHKEY_BIN:-target/release/latchkey}"
cargo build --release --quiet -p latchkey-crypto --example hash_time

. bench/database.sh
. bench/server.sh

# The machine's speed drifts from minute to minute (other tenants share its memory bandwidth and L3), so the
# single-thread hash is timed before the floods and again after them, and the target uses their mean.
hash_ms_before="$(target/release/examples/hash_time 30)"
# Every core hashing at once, nothing else running: the ceiling the machine really has (the cores share memory
# bandwidth, and argon2 is built to need it), at or below cores / hash time.
all_cores_rate="$(target/release/examples/hash_time 20 "$(nproc)")"

# Rate limits off: every request here comes from one address, and the per-address login limit (100 in flight, counted
# until the password proves right) would refuse most of a 256-connection flood before argon2 is even reached. The
# flood measures the hashing pool; the limits are tested, not benchmarked.
LATCHKEY__SERVER__BIND="127.0.0.1:${PORT}" LATCHKEY__DATABASE__URL="$database_url" LATCHKEY__LOG__FILTER=warn \
  LATCHKEY__THROTTLE__LOGIN_PER_ADDRESS=off LATCHKEY__THROTTLE__LOGIN_PER_ACCOUNT=off \
  "$binary" serve &
pid=$!
pids+=("$pid")
wait_ready "$PORT"

api="http://127.0.0.1:${PORT}/api/v1"
register_bench_account "$api"
token="$(bench_access_token "$api")"

rps() { awk '/Requests\/sec/ {print $2}'; }

me_alone="$(wrk -t1 -c16 -d5s -H "Authorization: Bearer ${token}" "$api/auth/me" | rps)"

# The flood alone: the login rate, against the ceiling the hash time sets.
flood() { wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --timeout 30s -s bench/login.lua "$api/auth/login"; }
# Where the cores' time goes during the flood: the hashing threads (argon2-*), the rest of the server, idle.
cpu_split() {
  python3 - "$pid" "$1" <<'PY'
import os, sys, time
pid, seconds = sys.argv[1], float(sys.argv[2])
tick = os.sysconf("SC_CLK_TCK")
def server():
    hashing = other = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            stat = open(f"/proc/{pid}/task/{task}/stat").read()
        except FileNotFoundError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        used = int(fields[11]) + int(fields[12])
        if name.startswith("argon2-"):
            hashing += used
        else:
            other += used
    return hashing, other
def idle():
    fields = open("/proc/stat").readline().split()
    return int(fields[4]) + int(fields[5])
h0, o0, i0 = *server(), idle()
time.sleep(seconds)
h1, o1, i1 = *server(), idle()
total = seconds * os.cpu_count()
print(f"{(h1 - h0) / tick / total:.2f} {(o1 - o0) / tick / total:.2f} {(i1 - i0) / tick / total:.2f}")
PY
}
seconds="${DURATION%s}"
cpu_split "$((seconds - 2))" >"$workdir/cpu" &
splitting=$!
flood >"$workdir/login.out"
wait "$splitting"
read -r hashing_share other_share idle_share <"$workdir/cpu"
non2xx="$(awk '/Non-2xx/ {print $NF}' "$workdir/login.out")"
# Successful logins per second: wrk's Requests/sec also counts the 503 `overloaded` answers.
logins="$(awk -v refused="${non2xx:-0}" '/requests in/ {sub(/s,$/, "", $4); printf "%.1f", ($1 - refused) / $4}' \
  "$workdir/login.out")"

# The flood again, with /auth/me measured during it.
flood >/dev/null &
flooding=$!
me_during="$(wrk -t1 -c16 -d"$DURATION" -H "Authorization: Bearer ${token}" "$api/auth/me" | rps)"
wait "$flooding"

# Other logins during the flood: a polite client (2 connections) logging in meanwhile. Its latency is the wait the
# flood imposes on everyone else's login (bounded by the hashing queue, argon2.max_waiting_per_core); its non-2xx
# are 503 `overloaded` answers, which a client retries after Retry-After.
login_alone="$(wrk -t1 -c2 -d5s --latency -s bench/login.lua "$api/auth/login")"
flood >/dev/null &
flooding=$!
login_during="$(wrk -t1 -c2 -d"$DURATION" --timeout 30s --latency -s bench/login.lua "$api/auth/login")"
wait "$flooding"
latency() { awk -v q="$1" '$1 == q {print $2}'; }
login_p50_alone="$(latency 50% <<<"$login_alone")"
login_p50="$(latency 50% <<<"$login_during")"
login_p99="$(latency 99% <<<"$login_during")"
login_non2xx="$(awk '/Non-2xx/ {print $NF}' <<<"$login_during")"
login_total="$(awk '/requests in/ {print $1}' <<<"$login_during")"
peak_kib="$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")"
# A moment for the last flood's running hashes to finish (queued ones whose clients left are skipped).
sleep 1
hash_ms_after="$(target/release/examples/hash_time 30)"

cores="$(nproc)"
python3 - "$cores" "$hash_ms_before" "$hash_ms_after" "$logins" "${non2xx:-0}" "$peak_kib" "$me_alone" "$me_during" \
  "$ARGON2_MEMORY_KIB" "$all_cores_rate" "$hashing_share" <<'EOF'
import sys
cores, before, after, logins, non2xx, peak_kib, me_alone, me_during, m_kib, all_cores, hashing = sys.argv[1:]
cores, logins, peak_mb = int(cores), float(logins), int(peak_kib) / 1024
before, after, all_cores, hashing = float(before), float(after), float(all_cores), float(hashing)
hash_ms = (before + after) / 2
login_target = 0.95 * cores / (hash_ms / 1000)
rss_target = 100 + 1.5 * cores * int(m_kib) / 1024
print(f"single-thread hash          {hash_ms:.2f} ms  (before the floods {before:.2f}, after {after:.2f}; "
      f"{cores} / hash time = {cores / (hash_ms / 1000):.1f}/s)")
# The target assumes the cores scale linearly; this is what the machine gave hashing alone, as a share of that: a
# rough bound on shared vCPUs, noisy from minute to minute (floods have beaten it), not a ceiling.
print(f"all {cores} cores hashing alone  {all_cores:.1f} hashes/s  "
      f"({all_cores / (cores / (hash_ms / 1000)):.2f} of {cores} / hash time)")
# What a hash cost its thread during the flood: the hashing threads' CPU time over the hashes done. Above the
# single-thread time, hashes at once slowed each other; the login rate is cores x (share of the cores hashing) / this.
if logins > 0:
    print(f"one hash during the flood   {hashing * cores * 1000 / logins:.2f} ms of its thread's CPU "
          f"(single-thread alone {hash_ms:.2f} ms)")
print(f"logins/s during the flood   {logins:.1f} successful (target >= {login_target:.1f}; "
      f"{logins / all_cores:.2f} of the all-cores rate; 503 overloaded {non2xx})")
print(f"peak RSS                    {peak_mb:.0f} MB  (target <= {rss_target:.0f} MB)")
print(f"/auth/me alone              {float(me_alone):.0f} req/s")
print(f"/auth/me during the flood   {float(me_during):.0f} req/s  (ratio {float(me_during) / float(me_alone):.2f})")
EOF
echo "flood's cores: hashing      ${hashing_share}  (rest of the server ${other_share}, idle ${idle_share};" \
  "the rest is wrk, the kernel's network work and other processes)"
echo "another login, alone         p50 ${login_p50_alone}"
echo "another login, during flood  p50 ${login_p50}  p99 ${login_p99}  (target: a few seconds at most;" \
  "503 overloaded: ${login_non2xx:-0} of ${login_total})"
