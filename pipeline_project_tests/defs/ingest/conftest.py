"""Fixtures for the ingest domain: a misbehaving local file server and a configured downloader."""

from __future__ import annotations

import hashlib

import dagster as dg
import pytest

from pipeline_project.defs.ingest.resources import DownloaderResource

from pipeline_project.samples.file_server import FileServer, make_pdf_bytes


@pytest.fixture
def corpus() -> dict[str, bytes]:
    return {f"doc{n:03d}": make_pdf_bytes(f"doc{n:03d}", pad_bytes=200_000) for n in range(12)}


@pytest.fixture
def server(corpus):
    with FileServer(corpus, drop_first={"doc001", "doc005"}, fail_503_first={"doc002"}) as srv:
        yield srv


def write_list(path, ids, sha=None):
    if sha:
        path.write_text("id,sha256\n" + "".join(f"{i},{sha.get(i, '')}\n" for i in ids))
    else:
        path.write_text("# identifiers\n" + "\n".join(ids) + "\n")
    return path


@pytest.fixture
def downloader(tmp_path, server, corpus, storage, warehouse) -> DownloaderResource:
    ids = sorted(corpus) + ["missing404"]
    sha = {i: hashlib.sha256(corpus[i]).hexdigest() for i in corpus}
    listing = write_list(tmp_path / "ids.csv", ids, sha)
    return DownloaderResource(storage=storage, warehouse=warehouse, list_path=str(listing), base_url=server.base_url, slice_size=5, workers=4,
                              per_host_concurrency=2, attempts=4, backoff_initial_seconds=0.01,
                              backoff_max_seconds=0.05, timeout_seconds=10)


def evaluate_sensor(instance, resources: dict):
    """One tick of the download sensor (its resources nest others, so the context must be entered)."""
    from pipeline_project.defs.ingest.sensors import download_slices_sensor

    with dg.build_sensor_context(instance=instance, resources=resources) as context:
        return download_slices_sensor(context)
