"""The review page in a real headless Chromium, while a comparison runs and after it finished.

The web server runs as its own process (as `pipeline-project serve` does) with an access token;
the comparison runs in this process, held at page 3's summary by a summarizer (the pluggable
interface) that waits for the test: so "while running" is a state the test controls, not a race.
DOM assertions on the live page as it polls, and screenshots kept in the test's tmp dir.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.request
import uuid

import pytest

from pipeline_project.defs.drawings.summary import LocalSummarizer
from pipeline_project.defs.drawings.walker import Walker
from pipeline_project.lib.web import spawn
from pipeline_project.samples import drawings as samples
from pipeline_project_tests.defs.drawings.browser import Browser
from pipeline_project_tests.net import free_port

pytestmark = pytest.mark.e2e
TOKEN = "review-page-test-token"


class HeldAt(LocalSummarizer):
    """Summarises normally, but holds the page named `sheet` until released."""

    def __init__(self, sheet: str):
        self.sheet, self.reached, self.release = sheet, threading.Event(), threading.Event()

    def summarize(self, facts):
        if facts.drawing_name == self.sheet:
            self.reached.set()
            assert self.release.wait(timeout=300), "the test never released the held page"
        return super().summarize(facts)


def _multipart(files: dict[str, bytes]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = b"".join(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"; filename=\"{k}.pdf\"\r\n"
                    f"Content-Type: application/pdf\r\n\r\n".encode() + v + b"\r\n" for k, v in files.items())
    return body + f"--{boundary}--\r\n".encode(), boundary


@pytest.fixture
def server(tmp_path, data_dir, monkeypatch):
    home = tmp_path / "dagster_home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    port = free_port()
    log = open(tmp_path / "server.log", "w")
    env = dict(__import__("os").environ, PIPELINE_DATA_DIR=str(data_dir), DAGSTER_HOME=str(home))
    proc = spawn("127.0.0.1", port, TOKEN, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/v1/health", timeout=2).read()
            break
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "server.log").read_text()
            time.sleep(0.3)
    yield base
    proc.terminate()
    proc.wait(timeout=20)
    log.close()


def test_review_page_updates_while_running_and_shows_the_result(tmp_path, server, storage, warehouse):
    pair = samples.revision_pair(tmp_path / "set", pages=4, seed=21, add_sheet_at=1,
                                 edits={0: ["move_wall"], 1: ["revise_title_block"], 2: ["add_equipment"]})
    body, boundary = _multipart({"old": pair.old.read_bytes(), "new": pair.new.read_bytes()})
    request = urllib.request.Request(f"{server}/api/v1/jobs?name=Clinic%20rev%20C", data=body, method="POST", headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}", "Authorization": f"Bearer {TOKEN}"})
    job_id = json.loads(urllib.request.urlopen(request, timeout=60).read())["job_id"]

    held = HeldAt("A-102")  # comparison page 3: A-101, A-105 (added), A-102, A-201, S-101
    errors = []
    walk = threading.Thread(target=lambda: errors.append(
        Walker(storage.root_path, warehouse, job_id, held).run()), daemon=True)
    walk.start()
    assert held.reached.wait(timeout=240), "the comparison never reached page 3"

    browser = Browser(tmp_path)
    browser.prompt_answer = TOKEN
    try:
        browser.open(f"{server}/drawings/{job_id}")
        card = "document.getElementById('page-{}')"
        browser.wait_for(f"{card.format(5)} && {card.format(2)}.dataset.summary === 'completed' && "
                         f"{card.format(3)}.dataset.diff === 'completed' && {card.format(4)}.dataset.ocr === 'completed' && "
                         "[1, 2, 3].every(n => { const i = document.querySelector('#page-' + n + ' img.overlay'); "
                         "return i && i.complete && i.naturalWidth > 0; })",
                         what="pages 1-2 done, page 3's overlay and page 4 extracted")
        running = browser.screenshot(tmp_path / "review_running.png")
        where = f"(screenshot {running})"
        state = browser.js("""Array.from(document.querySelectorAll('article.card')).map(c => ({id: c.id,
            ocr: c.dataset.ocr, diff: c.dataset.diff, summary: c.dataset.summary,
            title: c.querySelector('h2').textContent, overlay: c.querySelector('img.overlay').naturalWidth > 0,
            text: c.querySelector('.summary').textContent}))""")
        assert browser.js("document.getElementById('job-status').textContent") == "in progress", where
        assert [c["title"] for c in state] == ["1. A-101", "2. A-105", "3. A-102", "4. A-201", "5. S-101"], where
        assert [c["summary"] for c in state] == ["completed", "completed", "in_progress", "pending", "pending"], where
        assert state[2]["diff"] == "completed" and state[2]["overlay"], f"page 3's overlay shows before its summary {where}"
        # the next page is extracted while page 3 is summarised, but no further: pages come one by one
        assert state[3]["diff"] == "pending" and not state[3]["overlay"], where
        assert state[4]["ocr"] == "pending", where
        assert state[1]["text"].startswith("A-105: new sheet"), where
        assert browser.js("document.getElementById('count-diff').textContent") == "3/5", where
        assert browser.dialogs == ["This server needs an access token (PIPELINE_API_TOKEN):"], browser.dialogs

        held.release.set()
        browser.wait_for("document.body.dataset.done === 'yes'", what="the finished comparison")
        walk.join(timeout=120)
        done = browser.screenshot(tmp_path / "review_done.png")
        where = f"(screenshot {done})"
        final = browser.js("""Array.from(document.querySelectorAll('article.card')).map(c => [c.dataset.ocr,
            c.dataset.diff, c.dataset.summary, c.querySelector('img.overlay').naturalWidth > 0,
            c.querySelector('.summary').textContent])""")
        assert browser.js("document.getElementById('job-status').textContent") == "completed", where
        assert all(row[:4] == ["completed", "completed", "completed", True] for row in final), where
        assert "'A' changed to 'B' (title block)" in final[2][4], where
        assert final[4][4] == "S-101: no changes", where
        assert len(browser.dialogs) == 1, "the token is asked for once"

        browser.js("document.querySelector('#page-1 img.overlay').click()")
        browser.wait_for("document.getElementById('viewer').classList.contains('open') && "
                         "['old','overlay','new'].every(n => document.getElementById('full-' + n).naturalWidth > 0)",
                         what="the full-size viewer with old, overlay and new")
        browser.screenshot(tmp_path / "review_viewer.png")
        widths = browser.js("['old','overlay','new'].map(n => document.getElementById('full-' + n).naturalWidth)")
        assert widths[0] == widths[1] and widths[0] > 1500  # full 220 dpi renders, not thumbnails
    finally:
        held.release.set()
        browser.close()
    assert errors and errors[0].status == "completed"
