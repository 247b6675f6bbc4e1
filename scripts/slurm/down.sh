#!/usr/bin/env bash
# Stop everything up.sh started, by PID (pid files), never by name.
#   WIPE=1 also deletes SLURM state/logs (next up.sh starts from scratch).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
STATE_DIR=${STATE_DIR:-$ROOT/.ci-state/slurm}
# close any ssh ControlMaster dagster-slurm left behind (sockets live in our control dir)
for sock in "$STATE_DIR"/sshctl/*; do
  [ -S "$sock" ] && ssh -o ControlPath="$sock" -O exit placeholder 2>/dev/null || true
done
pf="$STATE_DIR/sshd/sshd.pid"
pid=$(cat "$pf" 2>/dev/null || true)
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
  kill -TERM "$pid" && echo "stopped sshd (pid $pid)"
fi
rm -f "$pf"
bash "$HERE/stop-slurm.sh"
