"""A comparison killed mid-way (SIGKILL), run again, ends as if it had never stopped: every page
once, nothing lost, nothing half-written left behind. And the LLM summarizer's fallback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from pipeline_project.defs.drawings import progress
from pipeline_project.defs.drawings.resources import DrawingSummarizer
from pipeline_project.defs.drawings.submissions import submit
from pipeline_project.defs.drawings.summary import PageFacts, RegionFacts
from pipeline_project.defs.drawings.walker import Walker, overlay_png
from pipeline_project.lib.warehouse import connect
from pipeline_project.samples import drawings as samples

RUN_ONE = """
import sys
from pathlib import Path
from pipeline_project.defs.drawings.walker import Walker
from pipeline_project.defs.drawings.summary import LocalSummarizer
from pipeline_project.lib.warehouse import warehouse_from_path
root = Path(sys.argv[1])
Walker(root, warehouse_from_path(str(root / "warehouse.duckdb")), sys.argv[2], LocalSummarizer()).run()
"""


def test_killed_comparison_resumes_without_duplicates_or_loss(tmp_path, storage, warehouse):
    pair = samples.revision_pair(tmp_path / "set", pages=6, seed=16)
    job_id = submit(storage.root_path, warehouse, pair.old, pair.new, source="cli", owner="user").job_id
    proc = subprocess.Popen([sys.executable, "-c", RUN_ONE, str(storage.root_path), job_id],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first_overlay = overlay_png(storage.root_path, job_id, 1)
    deadline = time.monotonic() + 240
    while not first_overlay.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    interrupted = progress.job_progress(warehouse, job_id)
    assert interrupted["status"] == "in_progress"

    report = Walker(storage.root_path, warehouse, job_id, DrawingSummarizer()).run()
    assert report.status == "completed" and report.done == 6
    p = progress.job_progress(warehouse, job_id)
    assert p["progress"]["summary"] == {"completed": 6, "total": 6}
    assert [page["diff_result"]["changes_detected"] for page in p["pages"]] == [True, False, True, False, True, False]
    with connect(warehouse) as conn:
        for table in ("drawing_pages", "drawing_diffs", "drawing_summaries"):
            assert conn.execute(f"SELECT count(*) FROM {table} WHERE job_id = ?", [job_id]).fetchone()[0] == 6
        assert conn.execute("SELECT count(*) FROM item_ledger WHERE partition_key = ?", [job_id]).fetchone()[0] == 30
    leftovers = [p for p in (storage.root_path / "drawings" / job_id).rglob(".*") if p.is_file()]
    assert leftovers == []


class _StandIn(BaseHTTPRequestHandler):
    """A local stand-in for an OpenAI-compatible chat-completions endpoint (no real LLM runs here)."""

    answers: list = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _StandIn.answers.append(body)
        if self.path != "/v1/chat/completions" or body["model"] != "drawing-model":
            self.send_response(500)
            self.end_headers()
            return
        facts = json.loads(body["messages"][1]["content"])
        text = f"{facts['drawing_name']}: revision letter changed\n- title block: A to B"
        payload = json.dumps({"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


def test_llm_summarizer_is_pluggable_and_falls_back_to_local_words():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StandIn)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        facts = PageFacts("A-102", "compared", [RegionFacts("title block", (0.8, 0.8, 0.9, 0.9), ["A"], ["B"], 30, 12)])
        llm = DrawingSummarizer(engine="openai", llm_url=url, llm_model="drawing-model")
        answer = llm.summarize(facts)
        assert answer.headline == "A-102: revision letter changed" and answer.summarizer == "openai:drawing-model"
        assert '"removed_text": ["A"]' in _StandIn.answers[-1]["messages"][1]["content"]
        broken = DrawingSummarizer(engine="openai", llm_url=url, llm_model="missing-model").summarize(facts)
        assert broken.headline == "A-102: 1 change — 'A' changed to 'B' (title block)"
        assert broken.summarizer.startswith("local (LLM unavailable")
    finally:
        server.shutdown()
