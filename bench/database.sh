# Sourced by the bench scripts: a fresh database for one run, chosen by DATABASE (sqlite, the default, or postgres
# on 127.0.0.1:5432 as user postgres), and its cleanup.
#
# Sets: workdir (a temporary directory), database_url; exports LATCHKEY__JWT__SECRET for PostgreSQL (which
# requires one). Installs an EXIT trap that kills the PIDs in `pids`, drops the database and removes workdir.

DATABASE="${DATABASE:-sqlite}"
workdir="$(mktemp -d)"
database_name="latchkey_bench_$$"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "$DATABASE" = postgres ]; then
    psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $database_name" >/dev/null 2>&1 || true
  fi
  rm -rf "$workdir"
}
trap cleanup EXIT

case "$DATABASE" in
  sqlite) database_url="sqlite://${workdir}/bench.db" ;;
  postgres)
    psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE $database_name" >/dev/null
    database_url="postgres://postgres@127.0.0.1:5432/$database_name"
    export LATCHKEY__JWT__SECRET="bench-secret-bench-secret-bench-secret-0123456789"
    ;;
  *) echo "DATABASE is sqlite or postgres" >&2; exit 2 ;;
esac
