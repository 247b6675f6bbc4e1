"""Test payload: runs long enough to be cancelled with scancel."""
import time

from dagster_pipes import open_dagster_pipes

with open_dagster_pipes() as pipes:
    pipes.log.info("sleeping until cancelled")
    time.sleep(300)
