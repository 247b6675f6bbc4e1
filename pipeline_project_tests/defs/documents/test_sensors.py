import dagster as dg

from pipeline_project import samples
from pipeline_project.defs.documents import batching, sensors
from pipeline_project.defs.documents.partitions import ocr_batches
from pipeline_project_tests.conftest import age


def tick(instance, storage, cursor=None):
    context = dg.build_sensor_context(instance=instance, resources={"storage": storage}, cursor=cursor)
    return sensors.ocr_batch_sensor(context), context


def test_full_batches_are_cut_by_page_count(instance, storage, monkeypatch):
    monkeypatch.setenv("PIPELINE_BATCH_MIN_PAGES", "6")
    monkeypatch.setattr(sensors, "_run_slot_free", lambda instance: False)
    age([samples.born_digital_pdf(storage.inbox / f"r{i}.pdf", pages=3, seed=i) for i in range(5)])

    result, _ = tick(instance, storage)

    assert isinstance(result, dg.SensorResult)
    keys = [r.partition_key for r in result.run_requests]
    assert len(keys) == 2  # 6 + 9 pages: the 5th file rides along with the second batch
    assert result.dynamic_partitions_requests[0].partition_keys == keys
    assert list(storage.inbox.glob("*.pdf")) == []
    manifests = [batching.read_manifest(storage.batches / k) for k in keys]
    assert [m["pages"] for m in manifests] == [6, 9]


def test_a_lone_pdf_waits_at_most_max_wait(instance, storage, monkeypatch):
    monkeypatch.setattr(sensors, "_run_slot_free", lambda instance: False)
    monkeypatch.setenv("PIPELINE_BATCH_MAX_WAIT_SECONDS", "3600")
    age([samples.born_digital_pdf(storage.inbox / "lone.pdf", pages=1)])

    skipped, context = tick(instance, storage)
    assert isinstance(skipped, dg.SkipReason) and "1 files (1 pages) waiting" in skipped.skip_message

    monkeypatch.setenv("PIPELINE_BATCH_MAX_WAIT_SECONDS", "0")
    result, _ = tick(instance, storage, cursor=context.cursor)
    assert len(result.run_requests) == 1


def test_dispatches_at_once_when_nothing_is_running(instance, storage):
    age([samples.born_digital_pdf(storage.inbox / "lone.pdf", pages=1)])
    result, _ = tick(instance, storage)
    (request,) = result.run_requests
    assert request.run_key == request.partition_key  # the same batch is never launched twice


def test_a_batch_claimed_before_a_crash_is_registered_next_tick(instance, storage):
    age([samples.born_digital_pdf(storage.inbox / "a.pdf", pages=1)])
    files = batching.scan_inbox(storage.inbox, {}, batching.BatchPolicy(), now=__import__("time").time())
    orphan = batching.claim_batch(storage.batches, storage.inbox, files)  # sensor died before registering

    result, _ = tick(instance, storage)

    assert [r.partition_key for r in result.run_requests] == [orphan]
    assert instance.get_dynamic_partitions(ocr_batches.name) == []  # added when the daemon applies the result
    assert result.dynamic_partitions_requests[0].partition_keys == [orphan]
