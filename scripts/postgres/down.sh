#!/usr/bin/env bash
# Stop the PostgreSQL server started by scripts/postgres/up.sh, by the PID it recorded (never by name).
#   bash scripts/postgres/down.sh [STATE_DIR]     # WIPE=1 also deletes the cluster's data
# SIGINT is PostgreSQL's "fast" shutdown (clients disconnected, data flushed); SIGTERM would wait for
# every idle client. SIGQUIT after 60 s. Harmless when nothing is running.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
STATE_DIR=${1:-$REPO/.ci-state/postgres}
PID_FILE=$STATE_DIR/server.pid
DATA=$(cat "$STATE_DIR/data_dir" 2>/dev/null || echo "$STATE_DIR/data")
if [ -f "$PID_FILE" ]; then
  PID=$(cat "$PID_FILE")
  # a PID outlives its process: only signal it while it is still this cluster's postmaster
  if kill -0 "$PID" 2>/dev/null && [ "$(head -1 "$DATA/postmaster.pid" 2>/dev/null)" = "$PID" ]; then
    kill -INT "$PID" 2>/dev/null || true
    for _ in $(seq 1 600); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$PID" 2>/dev/null; then echo "[postgres] pid $PID still alive after 60 s; SIGQUIT"; kill -QUIT "$PID" || true; fi
    echo "[postgres] stopped (pid $PID)"
  fi
  rm -f "$PID_FILE" "$STATE_DIR/env.sh"
else
  echo "[postgres] not running (no $PID_FILE)"
fi
if [ "${WIPE:-0}" = 1 ]; then rm -rf "$DATA" "$STATE_DIR/data_dir"; fi
