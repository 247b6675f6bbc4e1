"""A comparison as a Dagster partition: every stage an asset, every page in the ledger, pages
streamed one by one, re-runs skip work, failing pages become dead letters, bad input is quarantined."""

from __future__ import annotations

import json

import dagster as dg
import pymupdf

from pipeline_project.defs.drawings import progress, tables
from pipeline_project.defs.drawings.resources import DrawingSummarizer
from pipeline_project.defs.drawings.submissions import DOMAIN
from pipeline_project.defs.drawings.walker import overlay_png, page_png
from pipeline_project.lib import ledger
from pipeline_project.lib.warehouse import connect
from pipeline_project.samples import drawings as samples

STAGE_ASSETS = ["drawing_pages", "drawing_sheet_names", "drawing_page_matches", "drawing_diffs", "drawing_summaries"]


def materialized_metadata(result: dg.ExecuteInProcessResult, key: str) -> dict:
    (event,) = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == key]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def ledger_rows(warehouse, job_id):
    with connect(warehouse) as conn:
        return ledger.select(conn, domain=DOMAIN, partition_key=job_id)


def test_comparison_streams_every_page_through_every_stage(tmp_path, compare, storage, warehouse):
    pair = samples.revision_pair(tmp_path / "set", pages=4, seed=1, add_sheet_at=2,
                                 edits={0: ["move_wall", "change_dimension"], 1: ["revise_title_block"]})
    job_id, result = compare(pair.old, pair.new)
    assert result.success
    assert sorted(e.asset_key.to_user_string() for e in result.get_asset_materialization_events()) == sorted(STAGE_ASSETS)
    assert materialized_metadata(result, "drawing_diffs")["changed_pages"] == 3  # 2 edited + the added sheet

    p = progress.job_progress(warehouse, job_id)
    assert p["status"] == "completed" and p["total_pages"] == 5
    assert p["progress"] == {s: {"completed": 5, "total": 5} for s in ("ocr", "diff", "summary")}
    by_name = {page["drawing_name"]: page for page in p["pages"]}
    assert [page["drawing_name"] for page in p["pages"]] == ["A-101", "A-102", "A-105", "A-201", "S-101"]
    assert by_name["A-105"]["change_type"] == "added"
    assert by_name["A-101"]["diff_result"]["change_count"] == 2
    assert "'3300' changed to '3900'" in by_name["A-101"]["summary"]["summary_text"]
    assert by_name["A-102"]["summary"]["summary_text"].startswith("A-102: 1 change — 'A' changed to 'B' (title block)")
    assert by_name["A-201"]["diff_result"]["changes_detected"] is False
    for page in p["pages"]:
        dr = page["diff_result"]
        assert dr["overlay_url"] == f"/api/v1/overlays/{dr['diff_result_id']}/image"
        assert overlay_png(storage.root_path, job_id, page["page_number"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for side, count in (("old", 4), ("new", 5)):
        for n in range(1, count + 1):
            assert page_png(storage.root_path, job_id, side, n).is_file()
    assert page_png(storage.root_path, job_id, "new", 1).relative_to(storage.root_path).as_posix() == \
        f"drawings/{job_id}/pages/new/page_001.png"

    rows = ledger_rows(warehouse, job_id)
    assert {(r.stage, r.state) for r in rows} == {(s, "done") for s in ("pages", "sheet_names", "matching", "diff", "summary")}
    assert len(rows) == 5 * 5
    # streaming: each page is summarised before the next one is diffed, and extraction runs at most one
    # page ahead (page 3 is extracted only after page 1 is summarised): results come page by page.
    # (Results committed in one transaction share their time stamp, hence <=.)
    done_at = {(r.item_id, r.stage): r.updated_at for r in rows}
    for n in range(1, 5):
        assert done_at[(f"{job_id}/p{n:03d}", "summary")] <= done_at[(f"{job_id}/p{n + 1:03d}", "diff")]
    for n in range(1, 4):
        assert done_at[(f"{job_id}/p{n:03d}", "summary")] <= done_at[(f"{job_id}/p{n + 2:03d}", "pages")]
    assert done_at[(f"{job_id}/p001", "diff")] < done_at[(f"{job_id}/p005", "pages")], "the first overlay comes early"


def test_same_pair_twice_is_no_new_work(tmp_path, compare, warehouse):
    pair = samples.revision_pair(tmp_path / "set", pages=2, seed=3)
    job_id, first = compare(pair.old, pair.new)
    before = progress.job_progress(warehouse, job_id)
    again, second = compare(pair.old, pair.new)
    assert again == job_id
    assert materialized_metadata(second, "drawing_pages")["pages_skipped_already_done"] == 2
    assert progress.job_progress(warehouse, job_id)["pages"] == before["pages"]
    with connect(warehouse) as conn:
        assert conn.execute("SELECT count(*) FROM drawing_diffs WHERE job_id = ?", [job_id]).fetchone()[0] == 2
        assert len(tables.comparisons(conn)) == 1


class FailsOn:
    """A summarizer (the pluggable interface) that fails for one sheet: a stand-in for a broken
    LLM endpoint or a page no summarizer can handle."""

    name = "fails-on"

    def __init__(self, sheet: str):
        self.sheet = sheet
        self.calls = 0

    def summarize(self, facts):
        if facts.drawing_name == self.sheet:
            self.calls += 1
            raise RuntimeError(f"summarizer crashed on {self.sheet}")
        return DrawingSummarizer().summarize(facts)


def test_page_failing_five_times_is_a_dead_letter_and_the_rest_complete(tmp_path, compare, warehouse):
    pair = samples.revision_pair(tmp_path / "set", pages=3, seed=4)
    failing = FailsOn("A-102")
    job_id, result = compare(pair.old, pair.new, summarizer=failing)
    assert result.success and failing.calls == 5
    p = progress.job_progress(warehouse, job_id)
    assert p["status"] == "failed" and "1 of 3 pages failed" in p["error"]
    statuses = {page["drawing_name"]: page["summary_status"] for page in p["pages"]}
    assert statuses == {"A-101": "completed", "A-102": "failed", "A-201": "completed"}
    bad = next(page for page in p["pages"] if page["drawing_name"] == "A-102")
    assert "summarizer crashed on A-102" in bad["error"] and bad["diff_status"] == "completed"
    (row,) = [r for r in ledger_rows(warehouse, job_id) if r.stage == "summary" and r.state == "dead_letter"]
    assert row.attempts == 5 and "summarizer crashed" in row.last_error
    check = result.get_asset_check_evaluations()[0]
    assert not check.passed and check.metadata["dead_letters"].value == 1

    # a re-run leaves the dead letter alone; once re-queued (pipeline-project retry) it completes
    _, rerun = compare(pair.old, pair.new, summarizer=failing)
    assert failing.calls == 5
    with connect(warehouse) as conn:
        assert job_id in ledger.requeue(conn, domain=DOMAIN, dead_letters=True)[DOMAIN]
    _, fixed = compare(pair.old, pair.new)
    assert progress.job_progress(warehouse, job_id)["status"] == "completed"
    assert fixed.get_asset_check_evaluations()[0].passed


def _no_pages_pdf(path):
    """A syntactically valid PDF whose page tree is empty (PyMuPDF refuses to write one)."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"]
    out, offsets = bytearray(b"%PDF-1.7\n"), []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(bytes(out))
    return path


def test_bad_input_fails_with_a_reason_is_quarantined_and_others_go_on(tmp_path, compare, warehouse, storage):
    good = samples.revision_pair(tmp_path / "good", pages=2, seed=5)
    html = samples.not_a_pdf(tmp_path / "html.pdf")
    locked = samples.encrypted_copy(good.new, tmp_path / "locked.pdf")
    empty = _no_pages_pdf(tmp_path / "empty.pdf")
    reasons = {}
    for bad in (html, locked, empty):
        job_id, result = compare(good.old, bad)
        assert result.success
        p = progress.job_progress(warehouse, job_id)
        assert p["status"] == "failed" and p["total_pages"] == 0 and p["pages"] == []
        reasons[bad.name] = p["error"]
        assert bad.exists(), "the user's own file is copied to quarantine, never moved"
        quarantined = storage.root_path / "quarantine" / "drawings" / job_id
        assert (quarantined / "new.pdf").read_bytes() == bad.read_bytes()
        assert "new.pdf" in (quarantined / "new.pdf.reason.txt").read_text() or bad.name in (
            quarantined / "new.pdf.reason.txt").read_text()
        dead = [r for r in ledger_rows(warehouse, job_id) if r.state == "dead_letter"]
        assert len(dead) == 2 and all(r.quarantine_path for r in dead)
        assert materialized_metadata(result, "drawing_pages")["quarantined"] == 2
        assert not result.get_asset_check_evaluations()[0].passed
    assert "not a PDF" in reasons["html.pdf"] and "HTML" in reasons["html.pdf"]
    assert "encrypted" in reasons["locked.pdf"]
    assert "no pages" in reasons["empty.pdf"]
    job_id, result = compare(good.old, good.new)
    assert progress.job_progress(warehouse, job_id)["status"] == "completed"


def test_pipeline_owned_bad_input_is_moved_to_quarantine(tmp_path, compare, storage):
    good = samples.revision_pair(tmp_path / "good", pages=1, seed=6)
    upload = samples.not_a_pdf(tmp_path / "upload.part")
    job_id, _ = compare(good.old, upload, owner="pipeline", source="api")
    assert not upload.exists()
    assert (storage.root_path / "quarantine" / "drawings" / job_id / "new.pdf").is_file()
    assert not (storage.root_path / "drawings" / job_id / "input" / "new.pdf").exists()


def test_different_page_sizes_rotation_and_counts_are_normal_input(tmp_path, compare, warehouse):
    base = samples.base_set(4, seed=8)
    old = samples.write_set(tmp_path / "old.pdf", base)
    new = samples.write_set(tmp_path / "new.pdf", base[:3], size_delta=(0.7, 0.3), rotated_pages=(1,))
    job_id, result = compare(old, new)
    p = progress.job_progress(warehouse, job_id)
    assert p["status"] == "completed"
    assert [(page["drawing_name"], page["change_type"]) for page in p["pages"]] == [
        ("A-101", "compared"), ("A-102", "compared"), ("A-201", "compared"), ("S-101", "removed")]
    assert [page["diff_result"]["change_count"] for page in p["pages"][:3]] == [0, 0, 0]
    with pymupdf.open(new) as doc:
        assert doc[1].rotation == 90
    assert json.loads(json.dumps(p)) == p  # JSON-able as the API returns it


def test_scanned_sets_get_ocr_sheet_names_and_ocr_summaries(tmp_path, compare, warehouse):
    """Image-only sets: sheet ids from Tesseract on the title block, removed text read by OCR."""
    pair = samples.revision_pair(tmp_path / "set", pages=3, seed=2, scanned=True,
                                 edits={0: ["add_equipment"], 2: ["remove_note"]})
    job_id, result = compare(pair.old, pair.new)
    p = progress.job_progress(warehouse, job_id)
    assert [page["drawing_name"] for page in p["pages"]] == ["A-101", "A-102", "A-201"]
    assert [page["match_method"] for page in p["pages"]] == ["sheet id"] * 3
    assert [page["diff_result"]["changes_detected"] for page in p["pages"]] == [True, False, True]
    assert "removed '2. VERIFY ON SITE BEFORE FABRICATION.' (lower left)" in p["pages"][2]["summary"]["summary_text"]
    with connect(warehouse) as conn:
        sources = conn.execute("SELECT DISTINCT sheet_source FROM drawing_pages WHERE job_id = ?", [job_id]).fetchall()
    assert sources == [("ocr",)]


def test_stage_by_stage_order_is_what_streaming_is_measured_against(tmp_path, compare, warehouse):
    pair = samples.revision_pair(tmp_path / "set", pages=3, seed=17)
    job_id, _ = compare(pair.old, pair.new, page_order="stage_by_stage")
    done_at = {(r.item_id, r.stage): r.updated_at for r in ledger_rows(warehouse, job_id)}
    last_extracted = max(done_at[(f"{job_id}/p{n:03d}", "pages")] for n in (1, 2, 3))
    first_diffed = min(done_at[(f"{job_id}/p{n:03d}", "diff")] for n in (1, 2, 3))
    assert last_extracted <= first_diffed  # (<=: results committed in one transaction share their time stamp)
    assert progress.job_progress(warehouse, job_id)["status"] == "completed"
