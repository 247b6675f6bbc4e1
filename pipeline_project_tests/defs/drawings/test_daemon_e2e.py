"""End to end as a user runs it: the web server and the Dagster daemon as processes; comparisons
uploaded over HTTP are registered, launched by the sensor, run by the daemon, and followed through
the progress API until done. A bad pair fails with its reason while the good one completes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import dagster as dg
import pytest

from pipeline_project.lib.web import spawn
from pipeline_project.samples import drawings as samples
from pipeline_project_tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.e2e
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.loads(r.read())


def upload(base: str, old: Path, new: Path) -> dict:
    boundary = uuid.uuid4().hex
    body = b"".join(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"; filename=\"{p.name}\"\r\n"
                    f"Content-Type: application/pdf\r\n\r\n".encode() + p.read_bytes() + b"\r\n"
                    for k, p in (("old", old), ("new", new))) + f"--{boundary}--\r\n".encode()
    request = urllib.request.Request(f"{base}/api/v1/jobs", data=body, method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(request, timeout=60) as r:
        return json.loads(r.read())


def wait_done(base: str, job_id: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        p = _get(f"{base}/api/v1/jobs/{job_id}/progress")
        if p["status"] in ("completed", "failed"):
            return p
        assert time.monotonic() < deadline, f"comparison {job_id} still {p['status']} after {timeout:.0f} s"
        time.sleep(1)


def _stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)  # by PID, with its run workers
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    """`pipeline-project init`, then the daemon and the web server, as `pipeline-project dev` starts them."""
    root = tmp_path_factory.mktemp("drawings_e2e")
    data = root / "data"
    env = dict(os.environ, PIPELINE_DATA_DIR=str(data), DAGSTER_HOME=str(data / "dagster_home"))
    env.pop("PIPELINE_API_TOKEN", None)
    subprocess.run([str(BIN / "pipeline-project"), "init"], env=env, check=True, cwd=PROJECT_ROOT,
                   stdout=subprocess.DEVNULL)
    daemon_log = open(root / "daemon.log", "w")
    daemon = subprocess.Popen([str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"], cwd=PROJECT_ROOT,
                              env=env, stdout=daemon_log, stderr=subprocess.STDOUT, start_new_session=True)
    port = _free_port()
    server_log = open(root / "server.log", "w")
    server = spawn("127.0.0.1", port, env=env, stdout=server_log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _get(f"{base}/api/v1/health")
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, (root / "server.log").read_text()
                time.sleep(0.3)
        yield base, data, root
    finally:
        _stop(server)
        _stop(daemon)
        daemon_log.close()
        server_log.close()


def test_uploaded_comparisons_run_on_the_daemon(tmp_path, running):
    base, data, root = running
    good = samples.revision_pair(tmp_path / "good", pages=3, seed=31, edits={2: ["add_equipment"]})
    locked = samples.encrypted_copy(good.new, tmp_path / "locked.pdf")
    good_job = upload(base, good.old, good.new)["job_id"]
    bad_job = upload(base, good.old, locked)["job_id"]

    done = wait_done(base, good_job)
    assert done["status"] == "completed", f"{done} (daemon log: {root / 'daemon.log'})"
    assert [p["diff_result"]["changes_detected"] for p in done["pages"]] == [False, False, True]
    assert "added 'AHU-3'" in done["pages"][2]["summary"]["summary_text"]
    with urllib.request.urlopen(base + done["pages"][2]["diff_result"]["overlay_url"], timeout=30) as r:
        assert r.headers["Content-Type"] == "image/png" and r.read(8) == b"\x89PNG\r\n\x1a\n"

    failed = wait_done(base, bad_job)
    assert failed["status"] == "failed" and "encrypted" in failed["error"]
    assert (data / "quarantine" / "drawings" / bad_job / "new.pdf").is_file()

    with dg.DagsterInstance.from_config(str(data / "dagster_home")) as instance:
        assert good_job in instance.get_dynamic_partitions("drawing_comparisons")
        runs_filter = dg.RunsFilter(job_name="drawings_comparison_job", tags={"dagster/partition": good_job})
        deadline = time.monotonic() + 120  # the progress says completed a moment before the run ends
        while not all(r.is_finished for r in instance.get_runs(runs_filter)) and time.monotonic() < deadline:
            time.sleep(0.5)
        runs = instance.get_runs(runs_filter)
        assert [r.status for r in runs] == [dg.DagsterRunStatus.SUCCESS], "one run, launched by the sensor"
        assert good_job in instance.get_materialized_partitions(dg.AssetKey("drawing_diffs"))

    # the same pair again: no new comparison, no new run
    assert upload(base, good.old, good.new) == {**upload(base, good.old, good.new), "created": False}
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(f"{base}/api/v1/jobs/ffffffffffffffff/progress", timeout=30)
    assert missing.value.code == 404 and "no drawing comparison" in json.loads(missing.value.read())["error"]
