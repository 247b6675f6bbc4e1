"""The project's own Dagster instance: $DAGSTER_HOME, default $PIPELINE_DATA_DIR/dagster_home.

Its dagster.yaml keeps runs, events and schedules in SQLite under $DAGSTER_HOME, or in PostgreSQL
(dagster-postgres) when $PIPELINE_DAGSTER_PG_URL (postgresql://user:password@host:port/db) is set as
it is written. The URL is written into the file (readable by its owner only) with psycopg2 named as
the driver: SQLAlchemy 2.1 would otherwise pick psycopg 3, on which some of Dagster's queries fail.
It uses the queued run
coordinator (needed by `dagster job launch`) with two runs at a time, one per core here: batches
overlap (OCR of batch N+1 while batch N is embedded) without oversubscribing the machine. Run
retries and run monitoring are on, so a run whose process dies is re-executed by the daemon without
anyone acting.
"""

from __future__ import annotations

import os
from pathlib import Path

from pipeline_project.lib.settings import data_dir, env_int

DAGSTER_YAML = """\
# Written by `pipeline-project init`. Edit freely; it is not overwritten once it exists.
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: {max_runs}
    dequeue_interval_seconds: 1  # a queued run starts within a second, not five
# A run whose process dies (killed, out of memory) is marked failed by its code server and then
# re-executed from the failed step by the daemon: every stage is idempotent, so nobody has to act.
# Runs interrupted by stopping `pipeline-project dev` are not retries: they are queued again from the
# failed step by the stop (or the next start), once, without using up max_retries (docs/SERVICE.md).
run_retries:
  enabled: true
  max_retries: {max_retries}
  retry_on_asset_or_op_failure: false  # a step that raised is a real failure, shown as one
# The daemon also fails runs stuck starting or canceling, so they can be retried too.
run_monitoring:
  enabled: true
  start_timeout_seconds: 300
  cancel_timeout_seconds: 180
  poll_interval_seconds: 30
  # a run that ended without giving back its pool slot (its worker was killed while it held the
  # embedding model's slot) frees it after this long, instead of blocking every later embeddings step
  free_slots_after_run_end_seconds: 60
# Sensors tick in parallel threads: a slow tick (one sensor waiting on a busy code server) does not
# hold back the others, e.g. a week of recordings queued while a batch is being OCR'd, or a lone PDF
# dropped while an automation sensor evaluates.
sensors:
  use_threads: true
  num_workers: 4
auto_materialize:
  use_threads: true
  num_workers: 2
telemetry:
  enabled: false
nux:
  enabled: false  # no "join the community" pop-up over the UI
# Scale-out: runs, events and schedules on Postgres (set PIPELINE_DAGSTER_PG_URL before `init`, or add
# the storage block below by hand) and a run launcher (dagster-docker, dagster-k8s, ...) here; the code
# location does not change. See docs/POSTGRES.md.
"""

POSTGRES_STORAGE = """\
# Runs, event log and schedules in PostgreSQL (from PIPELINE_DAGSTER_PG_URL when this file was written).
storage:
  postgres:
    postgres_url: "{url}"
"""


def dagster_pg_url(url: str) -> str:
    """A postgresql:// URL with psycopg2 as SQLAlchemy's driver (an explicit driver is kept)."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.split("+")[0] not in ("postgresql", "postgres"):
        from pipeline_project.lib.settings import UserError

        raise UserError(f"PIPELINE_DAGSTER_PG_URL must be a postgresql:// URL, not {url!r}")
    return url if "+" in scheme else f"postgresql+psycopg2://{rest}"  # SQLAlchemy 2 refuses postgres://


EMBEDDING_POOL = "embedding_model"


def ensure_pools(instance) -> None:
    """Give the embedding model's pool its slots (PIPELINE_EMBEDDING_SLOTS, default 1) unless it has a limit.

    Pools limit steps, not runs: a run waiting for the embeddings slot has already done its OCR, and
    one slot means one model copy in memory on this machine however many runs overlap. A limit set
    since (`dagster instance concurrency set embedding_model N`, or in the UI) is kept."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return
    if EMBEDDING_POOL not in {p.name for p in storage.get_pool_limits()}:
        storage.set_concurrency_slots(EMBEDDING_POOL, env_int("PIPELINE_EMBEDDING_SLOTS", 1))


def dagster_home() -> Path:
    return Path(os.environ.get("DAGSTER_HOME") or data_dir() / "dagster_home").resolve()


def ensure_dagster_home(pools: bool = True) -> Path:
    """Create DAGSTER_HOME with its dagster.yaml (once), export it, give the pools their limits, return it."""
    home = dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        text = DAGSTER_YAML.format(max_runs=env_int("PIPELINE_MAX_CONCURRENT_RUNS", 2),
                                   max_retries=env_int("PIPELINE_RUN_RETRIES", 2))
        pg_url = os.environ.get("PIPELINE_DAGSTER_PG_URL", "").strip()
        if pg_url:
            text += POSTGRES_STORAGE.format(url=dagster_pg_url(pg_url).replace('"', '%22'))
        config.touch(mode=0o600)
        config.write_text(text)
    os.environ["DAGSTER_HOME"] = str(home)
    if pools:
        import dagster as dg

        with dg.DagsterInstance.from_config(str(home)) as instance:
            ensure_pools(instance)
    return home


def get_instance():
    import dagster as dg

    ensure_dagster_home(pools=False)
    instance = dg.DagsterInstance.get()
    ensure_pools(instance)
    return instance
