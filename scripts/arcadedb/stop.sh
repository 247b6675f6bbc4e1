#!/usr/bin/env bash
# Stop the ArcadeDB server started by scripts/arcadedb/start.sh, by the PID it recorded (never by name).
#   bash scripts/arcadedb/stop.sh [STATE_DIR]     # default <repo>/.ci-state/arcadedb
# SIGTERM first (ArcadeDB closes its databases cleanly in ~2 s), SIGKILL after 30 s. Harmless when
# nothing is running.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
STATE_DIR=${1:-$REPO/.ci-state/arcadedb}
PID_FILE="$STATE_DIR/server.pid"
[ -f "$PID_FILE" ] || { echo "[arcadedb] not running (no $PID_FILE)"; exit 0; }
PID=$(cat "$PID_FILE")
# a PID outlives its process: only signal it while it is still this ArcadeDB server
if kill -0 "$PID" 2>/dev/null && tr '\0' ' ' < "/proc/$PID/cmdline" 2>/dev/null | grep -q ArcadeDBServer; then
  kill -TERM "$PID" 2>/dev/null || true
  for _ in $(seq 1 300); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$PID" 2>/dev/null; then
    echo "[arcadedb] pid $PID still alive after 30 s; SIGKILL"
    kill -KILL "$PID" 2>/dev/null || true
  fi
fi
rm -f "$PID_FILE" "$STATE_DIR/env.sh"
echo "[arcadedb] stopped (pid $PID)"
