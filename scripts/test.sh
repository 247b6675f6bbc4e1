#!/usr/bin/env bash
# The test command (README, .ci/run): installs what the tests need, brings up the local SLURM
# cluster, runs pytest, and stops every service it started by PID, even when tests fail.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh

if [ -f scripts/slurm/up.sh ] && [ "${PIPELINE_SKIP_SLURM:-0}" != "1" ]; then
  trap 'bash scripts/slurm/down.sh || true' EXIT
  bash scripts/slurm/up.sh
fi

status=0
.venv/bin/python -m pytest "$@" || status=$?
exit "$status"
