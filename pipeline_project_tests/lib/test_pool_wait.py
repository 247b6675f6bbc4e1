"""A run waiting for a pool slot (the embedding model's) sleeps: it does not take a core from the run
that holds the slot, and it starts its step once the slot comes free."""

import threading
import time

import dagster as dg

from pipeline_project.definitions import build_definitions

WAIT_SECONDS = 4.0


@dg.asset(pool="one_at_a_time")
def waits_for_its_slot() -> int:
    return 1


def test_a_run_waiting_for_a_pool_slot_uses_no_cpu(tmp_path):
    build_definitions()  # what the code location does when a run worker loads it
    with dg.DagsterInstance.local_temp(str(tmp_path)) as instance:
        instance.event_log_storage.set_concurrency_slots("one_at_a_time", 0)
        spent: list[float] = []

        def give_a_slot_later() -> None:
            time.sleep(WAIT_SECONDS)
            spent.append(time.process_time() - cpu_before)
            instance.event_log_storage.set_concurrency_slots("one_at_a_time", 1)

        cpu_before = time.process_time()
        threading.Thread(target=give_a_slot_later, daemon=True).start()
        result = dg.materialize([waits_for_its_slot], instance=instance)

    assert result.success  # the step ran once its slot came free
    # Dagster 1.13.27 alone spins here: ~WAIT_SECONDS of CPU (lib/pool_wait.py)
    assert spent[0] < WAIT_SECONDS / 4, f"the waiting run used {spent[0]:.2f} CPU-s in {WAIT_SECONDS} s"
