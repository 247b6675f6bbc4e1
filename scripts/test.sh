#!/usr/bin/env bash
# The test command (README, .ci/run): installs what the tests need (Python deps, Tesseract, a
# headless browser, a single-node SLURM cluster with accounting and a private sshd, a Bolt server, a
# PostgreSQL server with pgvector), runs pytest, and stops every service it started by PID, even when
# tests fail.
#   bash scripts/test.sh                       # everything
#   bash scripts/test.sh -m "not e2e and not slurm"   # the fast part (extra args go to pytest)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
bash scripts/install_browser.sh

# Every service started here is stopped by PID on exit, whatever the tests did.
ARCADEDB_STATE=.ci-state/arcadedb-test
POSTGRES_STATE=.ci-state/postgres-test
stop_services() {
  bash scripts/arcadedb/stop.sh "$ARCADEDB_STATE" || true
  bash scripts/postgres/down.sh "$POSTGRES_STATE" || true
  if [ "${PIPELINE_SKIP_SLURM:-0}" != "1" ]; then bash scripts/slurm/down.sh || true; fi
}
trap stop_services EXIT

if [ "${PIPELINE_SKIP_SLURM:-0}" != "1" ]; then
  bash scripts/slurm/up.sh
  # shellcheck disable=SC1091
  source .ci-state/slurm/env.sh
fi

# One Bolt server (ArcadeDB, from the dev extras) for the graph sink tests of the whole session, on free
# ports. Only the tests' PIPELINE_TEST_* variables point at it: the sink stays off for every other test.
read -r BOLT_PORT HTTP_PORT < <(.venv/bin/python -c 'import socket
socks = [socket.socket() for _ in range(2)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))')
ARCADEDB_BOLT_PORT=$BOLT_PORT ARCADEDB_HTTP_PORT=$HTTP_PORT ARCADEDB_HEAP=512m PYTHON=.venv/bin/python \
  bash scripts/arcadedb/start.sh "$ARCADEDB_STATE"
eval "$(
  # shellcheck disable=SC1091
  . "$ARCADEDB_STATE/env.sh"
  echo "export PIPELINE_TEST_NEO4J_URI=$PIPELINE_NEO4J_URI PIPELINE_TEST_NEO4J_USER=$PIPELINE_NEO4J_USER" \
       "PIPELINE_TEST_NEO4J_PASSWORD='$PIPELINE_NEO4J_PASSWORD' PIPELINE_TEST_NEO4J_DATABASE=$PIPELINE_NEO4J_DATABASE" \
       "PIPELINE_TEST_ARCADEDB_HTTP_URL=$PIPELINE_ARCADEDB_HTTP_URL"
)"

# One PostgreSQL server with pgvector (Debian packages) for the session's Postgres tests (the scale-out
# instance and warehouse); only PIPELINE_TEST_PG_URL points at it: every other test keeps SQLite + DuckDB.
bash scripts/postgres/up.sh "$POSTGRES_STATE"
eval "$(
  # shellcheck disable=SC1091
  . "$POSTGRES_STATE/env.sh"
  echo "export PIPELINE_TEST_PG_URL='$PIPELINE_PG_URL'"
)"

# The code location must load as `dg` loads it (the defs/ layout), before any test runs.
VIRTUAL_ENV="$PWD/.venv" .venv/bin/dg check defs

# dagster-slurm ignores SIGTERM by design, so the overall guard is SIGKILL.
status=0
timeout -s KILL "${PIPELINE_TEST_TIMEOUT:-4200}" .venv/bin/python -m pytest "$@" || status=$?
exit "$status"
