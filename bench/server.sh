# Sourced by the bench scripts: waiting for a server they started, and the benchmark account on it.

BENCH_EMAIL="bench@example.com"
BENCH_PASSWORD="benchmark password"

# Waits until the server on 127.0.0.1:PORT answers /healthz, for at most TRIES tenths of a second (default 100);
# fails the script otherwise.
wait_ready() {
  local port="$1" tries="${2:-100}"
  for _ in $(seq 1 "$tries"); do
    curl -fsS -o /dev/null "http://127.0.0.1:${port}/healthz" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "the server on port ${port} did not answer /healthz" >&2
  return 1
}

# Registers the benchmark account at API (http://…/api/v1).
register_bench_account() {
  curl -fsS -o /dev/null -X POST "$1/auth/register" -H 'Content-Type: application/json' \
    -d "{\"email\":\"${BENCH_EMAIL}\",\"password\":\"${BENCH_PASSWORD}\"}"
}

# Logs the benchmark account in at API and prints its access token.
bench_access_token() {
  curl -fsS -X POST "$1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"username\":\"${BENCH_EMAIL}\",\"password\":\"${BENCH_PASSWORD}\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}

# Logs the benchmark account in COUNT times, one after the other on one kept-alive connection, to the server on
# 127.0.0.1:PORT; fails the script if any login is refused.
sequential_logins() {
  python3 - "$1" "$2" "$BENCH_EMAIL" "$BENCH_PASSWORD" <<'PY'
import http.client, json, sys
port, count, email, password = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
connection = http.client.HTTPConnection("127.0.0.1", port)
body = json.dumps({"username": email, "password": password})
for _ in range(count):
    connection.request("POST", "/api/v1/auth/login", body, {"Content-Type": "application/json"})
    response = connection.getresponse()
    response.read()
    assert response.status == 200, response.status
PY
}
