"""End to end as a user runs it: `pipeline-project dev` (the Dagster UI, the daemon and the web server,
as processes). Comparisons uploaded over HTTP are registered and their runs launched at once through
the Dagster UI; one submitted with `drawings compare` from a shell that knows no UI is requested by the
sensor instead. Each runs once on the daemon and is followed through the progress API until done. A
bad pair fails with its reason while the good one completes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import dagster as dg
import pytest

from pipeline_project.samples import drawings as samples
from pipeline_project_tests.conftest import PROJECT_ROOT
from pipeline_project_tests.net import free_port

pytestmark = pytest.mark.e2e
BIN = Path(sys.executable).parent


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


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    """`pipeline-project init`, then `pipeline-project dev` on free ports."""
    root = tmp_path_factory.mktemp("drawings_e2e")
    data = root / "data"
    env = dict(os.environ, PIPELINE_DATA_DIR=str(data), DAGSTER_HOME=str(data / "dagster_home"))
    for name in ("PIPELINE_API_TOKEN", "PIPELINE_DAGSTER_URL"):
        env.pop(name, None)
    subprocess.run([str(BIN / "pipeline-project"), "init"], env=env, check=True, cwd=PROJECT_ROOT,
                   stdout=subprocess.DEVNULL)
    ui_port, port = free_port(), free_port()
    log = open(root / "dev.log", "w")
    dev = subprocess.Popen([str(BIN / "pipeline-project"), "dev", "--port", str(ui_port), "--web-port", str(port)],
                           cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        for url in (f"http://127.0.0.1:{ui_port}/server_info", f"{base}/api/v1/health"):
            while True:
                try:
                    urllib.request.urlopen(url, timeout=5).read()
                    break
                except OSError:
                    assert dev.poll() is None and time.monotonic() < deadline, (root / "dev.log").read_text()[-3000:]
                    time.sleep(0.3)
        yield base, data, root, env
    finally:
        os.killpg(dev.pid, signal.SIGINT)  # dev stops the UI, the daemon and the web server
        try:
            dev.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(dev.pid, signal.SIGKILL)
            dev.wait()
        log.close()


def _runs(data: Path, job_id: str) -> list[dg.DagsterRun]:
    """The comparison's runs, once they have all ended (the progress says completed a moment before)."""
    with dg.DagsterInstance.from_config(str(data / "dagster_home")) as instance:
        runs_filter = dg.RunsFilter(job_name="drawings_comparison_job", tags={"dagster/partition": job_id})
        deadline = time.monotonic() + 120
        while not all(r.is_finished for r in instance.get_runs(runs_filter)) and time.monotonic() < deadline:
            time.sleep(0.5)
        return list(instance.get_runs(runs_filter))


def test_uploaded_comparisons_run_on_the_daemon(tmp_path, running):
    base, data, root, env = running
    good = samples.revision_pair(tmp_path / "good", pages=3, seed=31, edits={2: ["add_equipment"]})
    locked = samples.encrypted_copy(good.new, tmp_path / "locked.pdf")
    answer = upload(base, good.old, good.new)
    good_job = answer["job_id"]
    assert answer["run_id"], "the web server launched the run through the Dagster UI"
    bad_job = upload(base, good.old, locked)["job_id"]

    done = wait_done(base, good_job)
    assert done["status"] == "completed", f"{done} (log: {root / 'dev.log'})"
    assert [p["diff_result"]["changes_detected"] for p in done["pages"]] == [False, False, True]
    assert "added 'AHU-3'" in done["pages"][2]["summary"]["summary_text"]
    with urllib.request.urlopen(base + done["pages"][2]["diff_result"]["overlay_url"], timeout=30) as r:
        assert r.headers["Content-Type"] == "image/png" and r.read(8) == b"\x89PNG\r\n\x1a\n"

    failed = wait_done(base, bad_job)
    assert failed["status"] == "failed" and "encrypted" in failed["error"]
    assert (data / "quarantine" / "drawings" / bad_job / "new.pdf").is_file()

    (run,) = _runs(data, good_job)  # one run: the sensor did not request a second one
    assert run.run_id == answer["run_id"] and run.tags["launched_by"] == "api"
    assert run.status == dg.DagsterRunStatus.SUCCESS
    with dg.DagsterInstance.from_config(str(data / "dagster_home")) as instance:
        assert good_job in instance.get_dynamic_partitions("drawing_comparisons")
        assert good_job in instance.get_materialized_partitions(dg.AssetKey("drawing_diffs"))

    # the same pair again: no new comparison, no new run
    assert upload(base, good.old, good.new) == {**upload(base, good.old, good.new), "created": False}
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(f"{base}/api/v1/jobs/ffffffffffffffff/progress", timeout=30)
    assert missing.value.code == 404 and "no drawing comparison" in json.loads(missing.value.read())["error"]


def test_a_comparison_submitted_without_the_ui_is_run_by_the_sensor(tmp_path, running):
    base, data, root, env = running
    pair = samples.revision_pair(tmp_path / "set", pages=2, seed=32, edits={0: ["move_wall"]})
    out = subprocess.run([str(BIN / "pipeline-project"), "drawings", "compare", str(pair.old), str(pair.new),
                          "--name", "from a shell"], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    job_id = out.stdout.split()[1].rstrip(":")
    done = wait_done(base, job_id)
    assert done["status"] == "completed" and done["name"] == "from a shell"
    (run,) = _runs(data, job_id)
    assert run.tags.get("dagster/sensor_name") == "drawings_sensor" and "launched_by" not in run.tags
