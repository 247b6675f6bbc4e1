#!/usr/bin/env bash
# The test command (README, .ci/run): installs what the tests need (Python deps, Tesseract, a
# headless browser, a single-node SLURM cluster with accounting and a private sshd), runs pytest,
# and stops every service it started by PID, even when tests fail.
#   bash scripts/test.sh                       # everything
#   bash scripts/test.sh -m "not e2e and not slurm"   # the fast part (extra args go to pytest)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
bash scripts/install_browser.sh

if [ "${PIPELINE_SKIP_SLURM:-0}" != "1" ]; then
  trap 'bash scripts/slurm/down.sh || true' EXIT
  bash scripts/slurm/up.sh
  # shellcheck disable=SC1091
  source .ci-state/slurm/env.sh
fi

# The code location must load as `dg` loads it (the defs/ layout), before any test runs.
VIRTUAL_ENV="$PWD/.venv" .venv/bin/dg check defs

# dagster-slurm ignores SIGTERM by design, so the overall guard is SIGKILL.
status=0
timeout -s KILL "${PIPELINE_TEST_TIMEOUT:-4200}" .venv/bin/python -m pytest "$@" || status=$?
exit "$status"
