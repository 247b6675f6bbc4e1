"""The adaptive dispatch policy, driven through batching.dispatch (what the sensor calls every tick) with
a simulated clock: latency-first when quiet, full batches under a steady stream, batches growing as the
partition budget fills, nothing stranded. Plus the partition budget check and the status line."""

import dagster as dg
import pytest

from pipeline_project import samples
from pipeline_project.defs.documents import batching, checks, dispatch_policy
from pipeline_project.defs.documents.assets import raw_pdfs
from pipeline_project.defs.documents.cli import partition_budget_status
from pipeline_project.defs.documents.partitions import ocr_batches
from pipeline_project.defs.documents.sensors import cut_batches
from pipeline_project_tests.conftest import age

LOCAL = dispatch_policy.for_engine("local")
SLURM = dispatch_policy.for_engine("slurm")
MIN = 60.0
START = 1_800_000_000.0  # a whole minute


def run(arrivals, settings=LOCAL, until=None, slots=2, run_seconds=30.0, used=0):
    """Tick every 5 s like the sensor; a batch takes `run_seconds` in one of `slots` run slots.
    Returns [(cut time, [arrival times of its files])] and the files never cut."""
    history, waiting, cut, busy_until = dispatch_policy.DispatchHistory(), [], [], []
    arrivals = sorted(arrivals)
    now, nxt = START, 0
    until = until or (arrivals[-1] + 6 * 3600)
    while now <= until:
        busy_until = [t for t in busy_until if t > now]
        while nxt < len(arrivals) and arrivals[nxt] <= now - 1:
            waiting.append(batching.WaitingFile(f"f{nxt}", 1, arrivals[nxt], 10, first_seen=now))
            nxt += 1
        batches, history, _ = batching.dispatch(waiting, settings, history, now=now, slot_free=len(busy_until) < slots,
                                                partitions_used=used + len(cut))
        for files in batches:
            cut.append((now, [f.mtime for f in files]))
            busy_until.append(now + run_seconds)
        claimed = {f.path for files in batches for f in files}
        waiting = [f for f in waiting if f.path not in claimed]
        now += 5
    return cut, waiting


def steady(per_minute: float, minutes: float, start=START):
    return [start + i * MIN / per_minute for i in range(int(minutes * per_minute))]


def test_a_lone_pdf_after_a_quiet_spell_goes_at_the_next_tick():
    stream = steady(1, 60)
    lone = stream[-1] + 10 * MIN
    cut, stranded = run(stream + [lone])
    (when, files), = [(t, f) for t, f in cut if lone in f]
    assert files == [lone]  # on its own: not held back with the stream's last files
    assert when - lone <= 6  # the first tick that sees it (files must be ≥ 1 s old)
    assert not stranded


def test_a_steady_stream_of_one_pdf_a_minute_makes_only_full_batches():
    stream = steady(1, 5 * 60)  # 300 ten-page PDFs over 5 hours
    cut, stranded = run(stream, until=stream[-1])
    sizes = [10 * len(files) for _, files in cut]
    # the start of the stream is served latency-first (two small batches), then only full ones
    assert sizes[:2] == [10, 10]
    assert sizes[2:] and all(size >= 1000 for size in sizes[2:])
    assert len(cut) <= 2 + len(stream) * 10 // 1000


def test_the_tail_of_a_stream_goes_once_the_inbox_is_quiet_and_nothing_is_stranded():
    stream = steady(1, 150)
    cut, stranded = run(stream)
    last_cut, last_files = cut[-1]
    assert stream[-1] in last_files
    assert 9 * MIN <= last_cut - stream[-1] <= 12 * MIN
    assert not stranded and sum(len(f) for _, f in cut) == len(stream)


def test_a_burst_of_ten_thousand_pages_is_cut_into_full_batches():
    burst = [START + i / 1000 for i in range(1000)]  # 1,000 ten-page PDFs within a second
    cut, stranded = run(burst)
    assert [10 * len(files) for _, files in cut] == [1000] * 10
    assert not stranded


def test_under_load_a_partial_batch_waits_longer_than_when_quiet():
    history = dispatch_policy.DispatchHistory().with_arrivals(steady(1, 60, START - 3600), START)
    busy = dispatch_policy.decide(LOCAL, history, now=START, newest_arrival=START - 60, slot_free=True, partitions_used=0)
    quiet = dispatch_policy.decide(LOCAL, dispatch_policy.DispatchHistory().with_arrivals([START], START), now=START,
                                   newest_arrival=START, slot_free=True, partitions_used=0)
    assert busy.mode == "throughput-first" and busy.wait_seconds == LOCAL.max_wait_seconds
    assert quiet.mode == "latency-first" and quiet.cut_newer_than is not None


def test_the_gpu_engine_cuts_a_lone_pdf_only_after_its_long_max_wait():
    cut, stranded = run([START], settings=SLURM)
    (when, _), = cut
    assert when - START >= SLURM.max_wait_seconds >= 60 * MIN
    assert not stranded


def test_batches_grow_as_the_partition_budget_fills_and_files_still_go():
    settings = dispatch_policy.for_engine("local", budget=1000)
    assert dispatch_policy.budget_scale(400, 1000, 0.5) == 1
    assert dispatch_policy.budget_scale(750, 1000, 0.5) == pytest.approx(2)
    stream = steady(10, 3 * 60)  # 10 PDFs a minute: 100 pages a minute
    fresh, _ = run(stream, settings=settings, until=stream[-1], used=0)
    filling, _ = run(stream, settings=settings, until=stream[-1], used=750)
    full, stranded = run(stream, settings=settings, used=5000)  # far beyond the budget
    assert min(10 * len(f) for _, f in fresh[2:]) >= 1000
    assert min(10 * len(f) for _, f in filling[2:]) >= 2000  # (the stream's start still goes latency-first)
    assert len(filling) < len(fresh)
    assert not stranded and sum(len(f) for _, f in full) == len(stream)


def test_partition_budget_check_and_status_warn_past_half_the_budget(instance, storage, resources, monkeypatch):
    monkeypatch.setenv("PIPELINE_PARTITION_BUDGET", "4")
    instance.add_dynamic_partitions(ocr_batches.name, ["20260101T000000-aaaaaa", "20260101T000001-bbbbbb"])
    age([samples.born_digital_pdf(storage.inbox / "a.pdf", pages=1)])
    ids, _, _ = cut_batches(instance, storage, None, batching.BatchPolicy(), force=True)
    instance.add_dynamic_partitions(ocr_batches.name, ids)

    result = dg.materialize([raw_pdfs, checks.partition_budget], instance=instance, partition_key=ids[0],
                            resources={k: resources[k] for k in ("storage", "warehouse")})

    (evaluation,) = [e for e in result.get_asset_check_evaluations() if e.check_name == "partition_budget"]
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
    assert evaluation.metadata["partitions_used"].value == 3 and evaluation.metadata["budget"].value == 4
    status = partition_budget_status(instance)
    assert status["warning"] and status["message"].startswith("3 of 4 OCR batch partitions used (75.0 %)")
    assert status["batch_size_factor"] == 2


def test_default_budget_follows_the_instance_storage(instance):
    from pipeline_project.defs.documents.sensors import dispatch_settings

    assert dispatch_settings(instance).budget == 30_000  # SQLite fails near 36,000 partitions here
    assert dispatch_policy.partition_budget_default("postgres") == 100_000
