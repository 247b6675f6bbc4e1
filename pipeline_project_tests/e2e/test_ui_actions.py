"""The UI as its users use it, clicking in a real browser (Debian's chromium driven by Playwright) against
`pipeline-project dev` (the Dagster UI and daemon, `dg dev`):

- a documents batch materialized with the asset page's Materialize button flows on to embeddings;
- a backfill of a range of weekly observation partitions launched from the UI materializes every week.

Screenshots are kept in the test's tmp dir and named in every assertion message.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import dagster as dg
import pytest
import yaml

from pipeline_project import samples
from pipeline_project_tests.conftest import PROJECT_ROOT
from pipeline_project_tests.defs.documents.helpers import claim_inbox, wait_for
from pipeline_project_tests.net import free_port

pytestmark = pytest.mark.e2e
BIN = Path(sys.executable).parent
WEEKS = ["2023-01-02", "2023-01-09", "2023-01-16"]
STAGES = ["weekly_observations", "typology", "classification", "manifest", "manifold", "sql_analysis"]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> dict:
    """A fresh instance holding one claimed (not yet run) documents batch and a 3-week observations
    dataset whose sensor is off, so that only the clicks below can run them."""
    from pipeline_project.defs.observations.config import load_config
    from pipeline_project.lib.home import get_instance
    from pipeline_project.lib.resources import shared
    from pipeline_project.samples.matfiles import make_dataset

    root = tmp_path_factory.mktemp("ui_actions")
    data = root / "data"
    env = {"PIPELINE_DATA_DIR": str(data), "DAGSTER_HOME": str(data / "dagster_home"),
           "PIPELINE_OBSERVATIONS_CONFIGS": str(data / "observations" / "datasets")}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        storage = shared().storage
        samples.born_digital_pdf(storage.inbox / "memo.pdf", pages=2)
        samples.image_only_pdf(storage.inbox / "fax.pdf", ["Fax from the harbour office", "Berth 4 closed"])
        batch_id = claim_inbox(get_instance(), storage)
        config_path = data / "observations" / "datasets" / "demo.yaml"
        config_path.parent.mkdir(parents=True)
        config_path.write_text(yaml.safe_dump({
            "paths": {"raw_dir": "raw/demo", "output_dir": "observations/demo"},
            "partitioning": {"files_per_flush": 1},
            "compute": {"overlap_samples": 300, "window_samples": 64, "window_step": 32},
            "sensor": {"enabled": False}}))
        make_dataset(load_config(config_path).raw_dir, weeks=3, files_per_week=2, n=600)
        # what Dagster records once a person dismissed the first-visit pop-up (it would cover the pages)
        (data / "dagster_home" / ".nux").mkdir(parents=True, exist_ok=True)
        (data / "dagster_home" / ".nux" / "nux.yaml").write_text("seen: 1\n")
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
    return {"root": root, "data": data, "env": dict(os.environ, **env), "batch": batch_id}


@pytest.fixture(scope="module")
def ui(project) -> str:
    """`pipeline-project dev` on a free port; yields the UI's URL once the code location has loaded."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = project["root"] / "dev.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([str(BIN / "pipeline-project"), "dev", "--port", str(port), "--web-port", "0"],
                                cwd=PROJECT_ROOT, env=project["env"], stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    query = '{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }'

    def loaded():
        if proc.poll() is not None:
            pytest.fail(f"pipeline-project dev exited: {log_path.read_text()[-3000:]}")
        try:
            request = urllib.request.Request(f"{base}/graphql", data=json.dumps({"query": query}).encode(),
                                             headers={"Content-Type": "application/json"})
            entries = json.loads(urllib.request.urlopen(request, timeout=3).read())["data"]["workspaceOrError"]
            return any(e["loadStatus"] == "LOADED" for e in entries["locationEntries"])
        except Exception:
            return False

    try:
        wait_for(loaded, timeout=180, interval=1, what=f"the Dagster UI (log: {log_path})")
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # by PID: dg dev, its webserver, daemon and code servers
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _materialized(project, key: str) -> set[str]:
    with dg.DagsterInstance.from_config(project["env"]["DAGSTER_HOME"]) as instance:
        return set(instance.get_materialized_partitions(dg.AssetKey(key.split("/"))))


def _page(browser):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(120_000)  # the UI is slow to render on a busy 2-core machine
    return page


def test_materialize_button_runs_a_batch_on_to_embeddings(project, ui, browser):
    page = _page(browser)
    shot = project["root"] / "materialize_dialog.png"
    page.goto(f"{ui}/assets/raw_pdfs")
    page.get_by_role("button", name="Materialize…").click()
    dialog = page.get_by_role("dialog").first
    dialog.get_by_text("Select a partition or create one").click()
    page.locator(f"text={project['batch']} >> visible=true").first.click()
    page.keyboard.press("Escape")
    page.screenshot(path=shot)
    assert "1 partition" in dialog.inner_text(), f"the batch is not selected: {shot}"
    dialog.get_by_role("button", name="Launch 1 run").click()

    wait_for(lambda: project["batch"] in _materialized(project, "embeddings"), timeout=300, interval=2,
             what=f"the batch to reach embeddings (log: {project['root'] / 'dev.log'})")
    assert project["batch"] in _materialized(project, "raw_pdfs")
    shot = project["root"] / "embeddings_asset.png"
    page.goto(f"{ui}/assets/embeddings")
    page.get_by_text("Latest materialization").first.wait_for()
    page.get_by_text(project["batch"]).first.wait_for(timeout=30000)
    page.screenshot(path=shot)
    def runs_finished():
        with dg.DagsterInstance.from_config(project["env"]["DAGSTER_HOME"]) as instance:
            runs = instance.get_runs(dg.RunsFilter(tags={"dagster/partition": project["batch"]}))
            return runs if all(r.is_finished for r in runs) else None

    runs = wait_for(runs_finished, timeout=120, interval=2, what="the batch's runs to finish")
    assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs), f"{runs}; {shot}"
    # the clicked run (raw_pdfs); what followed came from automation conditions, nobody clicked again
    clicked, *followed = sorted(runs, key=lambda r: r.run_id and r.tags.get("dagster/from_ui") != "true")
    assert clicked.tags.get("dagster/from_ui") == "true" and followed
    assert all(r.tags.get("dagster/from_automation_condition") == "true" for r in followed), [
        (sorted(r.asset_selection or []), {k: v for k, v in r.tags.items() if not k.startswith(".")}) for r in runs]


def test_backfill_of_a_week_range_from_the_ui(project, ui, browser):
    page = _page(browser)
    shot = project["root"] / "backfill_dialog.png"
    page.goto(f"{ui}/locations/pipeline_project/asset-groups/observations_demo/lineage")
    page.get_by_role("button", name="Materialize all…").click()
    dialog = page.get_by_role("dialog").first
    dialog.get_by_text("Show all partitions").click()
    box = dialog.locator("input").first
    box.click()
    box.fill(f"[{WEEKS[0]}...{WEEKS[-1]}]")
    box.press("Enter")
    page.screenshot(path=shot)
    assert "3 partitions" in dialog.inner_text(), f"the week range is not selected: {shot}"
    dialog.get_by_role("button", name="Launch backfill").click()

    def every_week_done():
        return all(set(WEEKS) <= _materialized(project, f"observations/demo/{s}") for s in STAGES)

    wait_for(every_week_done, timeout=420, interval=3,
             what=f"the backfill to materialize every week (log: {project['root'] / 'dev.log'})")
    with dg.DagsterInstance.from_config(project["env"]["DAGSTER_HOME"]) as instance:
        (backfill,) = instance.get_backfills()
        wait_for(lambda: instance.get_backfill(backfill.backfill_id).status.value == "COMPLETED_SUCCESS",
                 timeout=120, interval=2, what="the backfill to be marked complete")
    shot = project["root"] / "backfill_done.png"
    page.goto(f"{ui}/assets/observations/demo/sql_analysis?view=partitions")
    page.wait_for_timeout(3000)
    page.screenshot(path=shot)
