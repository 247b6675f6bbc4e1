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
# Masters whose socket was since replaced by a newer master (same ControlPath) cannot be asked to exit
# through it and would live on with their sshd session: stop them by PID, found by our ControlPath.
for cmdline in /proc/[0-9]*/cmdline; do
  pid=${cmdline#/proc/}; pid=${pid%/cmdline}
  if tr '\0' ' ' < "$cmdline" 2>/dev/null | grep -q -- "ControlPath=$STATE_DIR/sshctl/"; then
    kill -TERM "$pid" 2>/dev/null && echo "stopped ssh master (pid $pid)"
  fi
done
pf="$STATE_DIR/sshd/sshd.pid"
pid=$(cat "$pf" 2>/dev/null || true)
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
  kill -TERM "$pid" && echo "stopped sshd (pid $pid)"
fi
rm -f "$pf"
bash "$HERE/stop-slurm.sh"
