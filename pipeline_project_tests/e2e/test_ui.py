"""End to end through the Dagster UI in a real headless browser (Debian's chromium; install it with
scripts/install_browser.sh): process sample PDFs with bad files among them, start dagster-webserver on
that instance, and check what a user sees on the pages they would open: the documents group's lineage
graph, the raw_pdfs asset page with its materialization metadata, and its failed (warning) asset check.

Chromium renders each page with --virtual-time-budget and dumps the DOM and a screenshot in one run;
the screenshots stay in the test's tmp dir (named in every assertion message) for a human to look at.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Callable

import pytest
from pipeline_project_tests.net import free_port

pytestmark = pytest.mark.e2e

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DOCUMENTS_ASSETS = ["raw_pdfs", "ocr_jsonl", "documents", "chunks", "embeddings"]
GROUP_GRAPH_PATH = "/locations/pipeline_project/asset-groups/documents/lineage"
NUX_TEXT = "Join the Dagster community"  # the first-visit modal; it would cover every screenshot


# ----------------------------------------------------------------------------------------- DOM reading

VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
             "wbr"}


class _Dom(HTMLParser):
    """Visible text, table rows (cell texts) and the names of the lineage graph's asset nodes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.rows: list[list[str]] = []
        self.asset_nodes: list[str] = []
        self.aria_labels: list[str] = []
        self._stack: list[tuple[str, bool]] = []  # (tag, is an asset-name element)
        self._skip = 0  # inside <script>/<style>
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._node_name: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("aria-label"):
            self.aria_labels.append(attrs["aria-label"])
        if tag in VOID_TAGS:
            return
        is_node = "AssetNode_assetName" in (attrs.get("class") or "")
        self._stack.append((tag, is_node))
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
        if is_node:
            self._node_name = []

    def handle_endtag(self, tag):
        if tag in VOID_TAGS:
            return
        while self._stack:  # tolerate unbalanced markup: pop up to the matching tag
            open_tag, is_node = self._stack.pop()
            if is_node and self._node_name is not None:
                self.asset_nodes.append(" ".join("".join(self._node_name).split()))
                self._node_name = None
            if open_tag in ("script", "style"):
                self._skip -= 1
            elif open_tag in ("td", "th") and self._cell is not None and self._row is not None:
                self._row.append(" ".join("".join(self._cell).split()))
                self._cell = None
            elif open_tag == "tr" and self._row is not None:
                self.rows.append(self._row)
                self._row = None
            if open_tag == tag:
                break

    def handle_data(self, data):
        if self._skip:
            return
        self.text.append(data)
        for sink in (self._cell, self._node_name):
            if sink is not None:
                sink.append(data)


@dataclass
class Page:
    url: str
    screenshot: Path
    dom_file: Path
    text: str = ""
    rows: list[list[str]] = field(default_factory=list)
    asset_nodes: list[str] = field(default_factory=list)
    aria_labels: list[str] = field(default_factory=list)

    def where(self) -> str:
        return f"{self.url} (screenshot: {self.screenshot}, DOM: {self.dom_file})"


def _parse(url: str, screenshot: Path, dom_file: Path) -> Page:
    dom = _Dom()
    dom.feed(dom_file.read_text(encoding="utf-8", errors="replace"))
    dom.close()
    return Page(url, screenshot, dom_file, " ".join(" ".join(dom.text).split()), dom.rows, dom.asset_nodes,
                dom.aria_labels)


# ----------------------------------------------------------------------------------------- fixtures


def _run(args: list[str], env: dict) -> str:
    done = subprocess.run([str(BIN / "pipeline-project"), *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (
        f"pipeline-project {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


@pytest.fixture(scope="module")
def ui_tmp(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ui")


@pytest.fixture(scope="module")
def processed_env(ui_tmp) -> dict:
    """A fresh instance with one drained batch: 2 born-digital PDFs, 1 scan, and the bad files."""
    data = ui_tmp / "data"
    home = data / "dagster_home"
    env = dict(os.environ, PIPELINE_DATA_DIR=str(data), DAGSTER_HOME=str(home))
    _run(["init"], env)
    _run(["sample", "--documents", "2", "--scans", "1", "--with-bad"], env)
    time.sleep(1.2)  # the batcher skips files younger than a second (they may still be being copied)
    _run(["drain"], env)
    # What Dagster itself records once someone has dismissed the first-visit "Join the Dagster community"
    # modal (dagster._core.nux.set_nux_seen): without it the modal covers every page a fresh browser opens.
    (home / ".nux").mkdir(parents=True, exist_ok=True)
    (home / ".nux" / "nux.yaml").write_text("seen: 1\n")
    return env


def _get(url: str, body: dict | None = None, timeout: float = 5) -> bytes:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data else {}
    request = urllib.request.Request(url, data=data, headers=headers)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()


LOCATIONS_QUERY = """{ workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus
  locationOrLoadError { __typename ... on PythonError { message } } } } } }"""


@pytest.fixture(scope="module")
def webserver(processed_env, ui_tmp) -> str:
    """dagster-webserver alone (no daemon) on a free port; yields its URL once the code location loaded."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = ui_tmp / "webserver.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [str(BIN / "dagster-webserver"), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
            cwd=PROJECT_ROOT, env=processed_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        location = None
        while True:
            if proc.poll() is not None:
                pytest.fail(f"dagster-webserver exited with {proc.returncode}:\n"
                            f"{log_path.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"dagster-webserver not ready in 120 s (code location: {location}); "
                            f"log {log_path}:\n"
                            f"{log_path.read_text()[-3000:]}")
            try:
                _get(f"{base}/server_info", timeout=2)
                reply = json.loads(_get(f"{base}/graphql", {"query": LOCATIONS_QUERY}))
                (location,) = [e for e in reply["data"]["workspaceOrError"]["locationEntries"]
                               if e["name"] == "pipeline_project"]
                if location["loadStatus"] == "LOADED":
                    error = location["locationOrLoadError"] or {}
                    assert error.get("__typename") != "PythonError", (
                        f"code location pipeline_project failed to load: {error.get('message')}")
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError, KeyError, ValueError):
                pass
            time.sleep(0.5)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # by PID: the webserver and its code-server subprocess
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="module")
def browse(webserver, ui_tmp) -> Callable[..., Page]:
    """browse(path, name, ready) renders a page in headless chromium until ready(page) holds (3 tries)."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium is not installed: run `bash scripts/install_browser.sh`")

    def render(path: str, name: str, ready: Callable[[Page], bool]) -> Page:
        page = None
        for attempt in range(1, 4):
            # a new profile each time: no cache, no local storage
            profile = ui_tmp / f"chromium-profile-{name}-{attempt}"
            screenshot = ui_tmp / f"{name}.png"
            dom_file = ui_tmp / f"{name}.html"
            argv = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio",
                    f"--user-data-dir={profile}", f"--virtual-time-budget={15000 * attempt}",
                    "--window-size=1400,900", f"--screenshot={screenshot}", "--dump-dom", webserver + path]
            with open(dom_file, "w") as out, open(ui_tmp / f"{name}.chromium.log", "w") as err:
                proc = subprocess.Popen(argv, stdout=out, stderr=err, start_new_session=True)
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
            shutil.rmtree(profile, ignore_errors=True)
            page = _parse(webserver + path, screenshot, dom_file)
            if proc.returncode == 0 and screenshot.exists() and ready(page):
                break
            time.sleep(2)  # the SPA was still loading (or chromium hiccupped): open the page again
        assert NUX_TEXT not in page.text, f"the first-visit modal covers the page: {page.where()}"
        return page

    return render


# ----------------------------------------------------------------------------------------- the checks


def test_documents_group_graph_shows_every_stage(browse):
    page = browse(GROUP_GRAPH_PATH, "documents_group_graph",
                  lambda p: set(DOCUMENTS_ASSETS) <= set(p.asset_nodes))
    assert set(DOCUMENTS_ASSETS) <= set(page.asset_nodes), (
        f"the documents group's graph shows asset nodes {page.asset_nodes}, want all of {DOCUMENTS_ASSETS}: "
        f"{page.where()}")
    assert "downloaded_pdfs" not in page.asset_nodes, (
        f"an ingest asset on the documents graph: {page.where()}")
    assert "documents" in page.text and "Asset Group" in page.text, page.where()


def _metadata_value(page: Page, key: str) -> str | None:
    """The last cell of the metadata table row whose first cell is `key` (key | timestamp | value)."""
    for row in page.rows:
        if len(row) >= 2 and row[0] == key:
            return row[-1]
    return None


def test_raw_pdfs_page_shows_quarantined_files(browse):
    page = browse("/assets/raw_pdfs", "raw_pdfs_asset",
                  lambda p: _metadata_value(p, "quarantined") is not None)
    assert "raw_pdfs" in page.text and "Latest materialization" in page.text, page.where()
    metadata = {row[0]: row[-1] for row in page.rows if len(row) >= 2}
    assert metadata.get("quarantined") == "5", f"materialization metadata {metadata}: {page.where()}"
    assert metadata.get("files") == "10" and metadata.get("accepted") == "5", (
        f"materialization metadata {metadata}: {page.where()}")
    assert "ocr_jsonl" in page.text, f"no downstream asset in the lineage section: {page.where()}"


def test_raw_pdfs_quarantine_check_is_a_failed_warning(browse):
    page = browse("/assets/raw_pdfs?view=checks", "raw_pdfs_checks",
                  lambda p: "no_quarantined_files" in p.text
                  and _metadata_value(p, "quarantined") is not None)
    assert "no_quarantined_files" in page.text, f"the asset check is not listed: {page.where()}"
    assert "Failed" in page.text, f"the check is not shown as failed: {page.where()}"
    assert "non-blocking" in page.text, f"a WARN check should be shown as non-blocking: {page.where()}"
    assert any("warning" in label for label in page.aria_labels), (
        f"no warning icon on the checks page (icons: {sorted(set(page.aria_labels))}): {page.where()}")
    assert _metadata_value(page, "quarantined") == "5", (
        f"check metadata rows {page.rows}: {page.where()}")
