"""The drawings API on the project's web server: upload, progress JSON, overlay and page images."""

from __future__ import annotations

import dagster as dg
import pytest
from fastapi.testclient import TestClient

from pipeline_project.defs.drawings.assets import drawing_comparison
from pipeline_project.lib.web import WebSettings, create_app
from pipeline_project.samples import drawings as samples

SEED_KEYS = {"job_id", "status", "total_pages", "progress", "pages"}
PAGE_KEYS = {"page_number", "drawing_name", "ocr_status", "diff_status", "summary_status"}


@pytest.fixture
def home(tmp_path, monkeypatch, data_dir):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    from pipeline_project.lib.home import get_instance

    return get_instance()


@pytest.fixture
def client(home, data_dir):
    return TestClient(create_app(WebSettings()), raise_server_exceptions=False)


def test_the_server_finds_the_drawings_routes(client):
    paths = set(client.get("/api/openapi.json").json()["paths"])
    assert {"/api/v1/jobs", "/api/v1/jobs/{job_id}/progress", "/api/v1/overlays/{diff_result_id}/image",
            "/api/v1/jobs/{job_id}/pages/{side}/{page}/image"} <= paths


def upload(client, old, new, **params):
    with open(old, "rb") as o, open(new, "rb") as n:
        return client.post("/api/v1/jobs", params=params,
                           files={"old": ("rev-b.pdf", o, "application/pdf"), "new": ("../../rev-c.pdf", n, "application/pdf")})


def test_upload_registers_the_partition_and_the_progress_follows(tmp_path, client, home, drawing_resources):
    pair = samples.revision_pair(tmp_path / "set", pages=2, seed=12, edits={1: ["revise_title_block"]})
    r = upload(client, pair.old, pair.new, name="Clinic rev C")
    assert r.status_code == 201, r.text
    body = r.json()
    job_id = body["job_id"]
    assert body["created"] and body["review_url"] == f"/drawings/{job_id}" and body["name"] == "Clinic rev C"
    assert home.has_dynamic_partition("drawing_comparisons", job_id)
    again = upload(client, pair.old, pair.new)
    assert again.status_code == 200 and again.json()["job_id"] == job_id and not again.json()["created"]

    pending = client.get(f"/api/v1/jobs/{job_id}/progress").json()
    assert pending["status"] == "pending" and pending["pages"] == [] and SEED_KEYS <= set(pending)

    result = dg.materialize([drawing_comparison], partition_key=job_id, instance=home, resources=drawing_resources)
    assert result.success
    p = client.get(f"/api/v1/jobs/{job_id}/progress").json()
    assert p["status"] == "completed" and p["total_pages"] == 2
    assert p["progress"] == {s: {"completed": 2, "total": 2} for s in ("ocr", "diff", "summary")}
    for page in p["pages"]:
        assert PAGE_KEYS <= set(page)
        assert {"diff_result_id", "overlay_url", "changes_detected", "change_count"} <= set(page["diff_result"])
        assert {"summary_id", "summary_text"} <= set(page["summary"])
        image = client.get(page["diff_result"]["overlay_url"])
        assert image.status_code == 200 and image.headers["content-type"] == "image/png"
        assert image.content[:8] == b"\x89PNG\r\n\x1a\n"
        assert client.get(page["new_image_url"]).content[:4] == b"\x89PNG"
    assert [pg["diff_result"]["changes_detected"] for pg in p["pages"]] == [False, True]
    listed = client.get("/api/v1/jobs").json()["jobs"]
    assert [j["job_id"] for j in listed] == [job_id]


def test_not_a_pdf_is_refused_by_content_and_kept_in_quarantine(tmp_path, client, data_dir):
    good = samples.revision_pair(tmp_path / "set", pages=1, seed=13)
    fake = samples.not_a_pdf(tmp_path / "drawing.pdf")  # named .pdf, is HTML
    r = upload(client, good.old, fake)
    assert r.status_code == 415 and "not a PDF" in r.json()["error"]
    kept = list((data_dir / "quarantine" / "drawings" / "rejected_uploads").glob("*.pdf"))
    assert len(kept) == 1 and kept[0].read_bytes() == fake.read_bytes()
    assert not list((data_dir / "uploads").glob("*.part")), "no upload left behind"


def test_unknown_order_is_refused(tmp_path, client, data_dir):
    pair = samples.revision_pair(tmp_path / "set", pages=1, seed=18)
    r = upload(client, pair.old, pair.new, order="sideways")
    assert r.status_code == 400 and "stage_by_stage" in r.json()["error"]
    assert not list((data_dir / "uploads").glob("*.part"))


def test_unknown_ids_are_json_404s(client):
    for url in ("/api/v1/jobs/0123456789abcdef/progress", "/api/v1/jobs/../../etc/progress",
                "/api/v1/overlays/diff-0123456789abcdef-001/image", "/api/v1/overlays/nope/image",
                "/api/v1/jobs/0123456789abcdef/pages/old/1/image", "/api/v1/jobs/0123456789abcdef/pages/etc/1/image"):
        r = client.get(url)
        assert r.status_code == 404 and r.headers["content-type"] == "application/json", url
        assert r.json()["error"], url


def test_review_page_is_served(client):
    r = client.get("/drawings/0123456789abcdef")
    assert r.status_code == 200 and 'data-job="0123456789abcdef"' in r.text
    assert client.get("/drawings/not-an-id").status_code == 404
    assert "Drawing comparisons" in client.get("/drawings").text
