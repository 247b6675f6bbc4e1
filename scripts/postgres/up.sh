#!/usr/bin/env bash
# Start a PostgreSQL server with pgvector for tests and benchmarks (idempotent: a running one is kept).
#   bash scripts/postgres/up.sh [STATE_DIR]     # default <repo>/.ci-state/postgres
#   source <STATE_DIR>/env.sh                   # PIPELINE_PG_URL (warehouse), PIPELINE_PG_DAGSTER_URL (instance)
# The cluster lives in STATE_DIR/data, owned by a non-root user (the Debian package's `postgres`
# when run as root, yourself otherwise), listens on 127.0.0.1 on a free port (or $PG_PORT) with a
# password, and is started with pg_ctl; scripts/postgres/down.sh stops it by the PID it wrote.
# Databases: `pipeline` (the warehouse) and `dagster` (the Dagster instance), both owned by the role
# `pipeline`, which may create more (tests make one per test session). pgvector is created in
# template1, so every new database has it.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
STATE_DIR=$(mkdir -p "${1:-$REPO/.ci-state/postgres}" && cd "${1:-$REPO/.ci-state/postgres}" && pwd)
bash "$HERE/install.sh"
PG_BIN=/usr/lib/postgresql/$(ls /usr/lib/postgresql | sort -n | tail -1)/bin

# root may not run PostgreSQL: run it as `postgres`; its files must be reachable by that user
if [ "$(id -u)" -eq 0 ]; then
  AS=(runuser -u postgres --)
  DATA=$STATE_DIR/data
  if ! runuser -u postgres -- test -x "$STATE_DIR"; then  # a checkout under a private home directory
    DATA=/var/tmp/pipeline-postgres-$(echo "$STATE_DIR" | md5sum | cut -c1-12)
  fi
else
  AS=()
  DATA=$STATE_DIR/data
fi
pg() { "${AS[@]}" "$PG_BIN/$1" "${@:2}"; }

if [ -f "$STATE_DIR/env.sh" ] && [ -f "$DATA/postmaster.pid" ] && pg pg_ctl -D "$DATA" status >/dev/null 2>&1; then
  echo "[postgres] already running ($DATA)"; exit 0
fi

if [ ! -f "$DATA/PG_VERSION" ]; then
  mkdir -p "$DATA"
  [ "${#AS[@]}" -eq 0 ] || chown postgres: "$DATA"
  chmod 700 "$DATA"
  pg initdb -D "$DATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
  # lock waits longer than deadlock_timeout are logged: the benchmark counts them
  cat >> "$DATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DATA'
max_connections = 200
shared_buffers = 256MB
fsync = ${PG_FSYNC:-on}
log_lock_waits = on
deadlock_timeout = 100ms
logging_collector = off
CONF
fi

PORT=${PG_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
pg pg_ctl -D "$DATA" -o "-p $PORT" -l "$DATA/server.log" -w -t 60 start >/dev/null
PID=$(head -1 "$DATA/postmaster.pid")
echo "$PID" > "$STATE_DIR/server.pid"
echo "$DATA" > "$STATE_DIR/data_dir"

PASSWORD_FILE=$STATE_DIR/password
[ -s "$PASSWORD_FILE" ] || (umask 077; python3 -c 'import secrets; print(secrets.token_hex(16))' > "$PASSWORD_FILE")
PASSWORD=$(cat "$PASSWORD_FILE")
psql_() { pg psql -h "$DATA" -p "$PORT" -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
psql_ -d template1 -c "CREATE EXTENSION IF NOT EXISTS vector"
psql_ -d postgres -c "DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pipeline') THEN CREATE ROLE pipeline LOGIN CREATEDB; END IF;
END \$\$; ALTER ROLE pipeline PASSWORD '$PASSWORD'"
for db in pipeline dagster; do
  [ "$(psql_ -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" = 1 ] ||
    psql_ -d postgres -c "CREATE DATABASE $db OWNER pipeline"
done

(umask 077; cat > "$STATE_DIR/env.sh" <<ENV
export PIPELINE_PG_URL=postgresql://pipeline:$PASSWORD@127.0.0.1:$PORT/pipeline
export PIPELINE_PG_DAGSTER_URL=postgresql://pipeline:$PASSWORD@127.0.0.1:$PORT/dagster
export PIPELINE_PG_PORT=$PORT
ENV
)
echo "[postgres] running on 127.0.0.1:$PORT (pid $PID, data $DATA)"
