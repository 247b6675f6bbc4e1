"""The shared web server: token, JSON errors, streamed and capped uploads, safe file names, binding."""

from __future__ import annotations

import subprocess
import sys
import time
import types
import urllib.request

import pytest
from fastapi import APIRouter, Request
from fastapi.testclient import TestClient

from pipeline_project.lib.web import ApiError, UnsafeBind, WebSettings, create_app, receive_files, spawn
from pipeline_project.lib.web.security import check_bind
from pipeline_project.lib.web.uploads import client_label
from pipeline_project_tests.net import free_port

PDF = b"%PDF-1.7\n" + b"x" * 5000


def _domain() -> types.ModuleType:
    """A domain web module as a defs/<domain>/web.py would define it."""
    module = types.ModuleType("pipeline_project.defs.example.web")

    def api_router() -> APIRouter:
        router = APIRouter()

        @router.post("/api/v1/example/upload")
        async def upload(request: Request):
            files = await receive_files(request, {"old", "new"}, required={"old", "new"})
            return {k: {"path": str(u.path), "name": u.client_name, "size": u.size, "pdf": u.head.startswith(b"%PDF")}
                    for k, u in files.items()}

        @router.get("/api/v1/example/items/{n}")
        def item(n: int):
            if n == 7:
                raise ApiError(404, "item 7 does not exist")
            if n == 13:
                raise RuntimeError("secret internal detail /etc/shadow")
            return {"n": n}

        return router

    def page_router() -> APIRouter:
        router = APIRouter()

        @router.get("/example/page")
        def page():
            return {"page": "public shell"}

        return router

    module.api_router, module.page_router = api_router, page_router
    return module


@pytest.fixture
def uploads(tmp_path):
    folder = tmp_path / "uploads"
    folder.mkdir()
    return folder


def client(uploads, token=None, limit=1024 * 1024) -> TestClient:
    app = create_app(WebSettings(token=token, max_upload_bytes=limit, upload_dir=uploads), modules=[_domain()])
    return TestClient(app, raise_server_exceptions=False)


def test_domain_routes_are_served(uploads):
    c = client(uploads)
    assert c.get("/api/v1/example/items/3").json() == {"n": 3}
    assert c.get("/example/page").json() == {"page": "public shell"}
    assert c.get("/api/v1/health").json()["status"] == "ok"


def test_errors_are_json_with_a_readable_message_and_no_trace(uploads):
    c = client(uploads)
    r = c.get("/api/v1/example/items/7")
    assert r.status_code == 404 and r.json() == {"error": "item 7 does not exist", "status": 404}
    r = c.get("/nowhere")
    assert r.status_code == 404 and r.json()["error"] == "not found: /nowhere"
    r = c.get("/api/v1/example/items/seven")
    assert r.status_code == 422 and r.json()["error"].startswith("invalid request: n:")
    r = c.get("/api/v1/example/items/13")
    assert r.status_code == 500 and r.headers["content-type"] == "application/json"
    assert "secret" not in r.text and "Traceback" not in r.text and "internal error" in r.json()["error"]


def test_token_is_required_when_set(uploads):
    c = client(uploads, token="s3cret-token")
    r = c.get("/api/v1/example/items/3")
    assert r.status_code == 401 and "access token" in r.json()["error"]
    assert c.get("/api/v1/example/items/3", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert c.get("/api/v1/example/items/3", headers={"Authorization": "Bearer s3cret-token"}).json() == {"n": 3}
    assert c.get("/example/page").status_code == 200  # the page shell asks for the token itself
    assert c.get("/api/v1/health").status_code == 200


@pytest.mark.parametrize("evil", ["../../outside.pdf", "/tmp/absolute.pdf", "..\\..\\win.pdf", "a/../../b.pdf", ".."])
def test_client_file_names_never_become_paths(uploads, tmp_path, evil):
    c = client(uploads)
    r = c.post("/api/v1/example/upload", files={"old": (evil, PDF, "application/pdf"),
                                                   "new": ("new.pdf", PDF, "application/pdf")})
    assert r.status_code == 200, r.text
    stored = r.json()["old"]
    assert stored["size"] == len(PDF) and stored["pdf"]
    assert str(uploads) == str(__import__("pathlib").Path(stored["path"]).parent)
    assert "/" not in stored["name"] and "\\" not in stored["name"] and not stored["name"].startswith(".")
    assert not (tmp_path / "outside.pdf").exists() and not (tmp_path.parent / "outside.pdf").exists()
    assert sorted(p.name for p in uploads.iterdir()) == sorted(
        __import__("pathlib").Path(v["path"]).name for v in r.json().values())


def test_client_label():
    assert client_label("../../etc/passwd") == "passwd"
    assert client_label("C:\\Users\\me\\set.pdf") == "set.pdf"
    assert client_label("..") == "unnamed"
    assert client_label("a\x00b\nc.pdf") == "abc.pdf"


def test_upload_over_the_cap_is_refused_and_nothing_is_left(uploads):
    c = client(uploads, limit=4000)
    r = c.post("/api/v1/example/upload", files={"old": ("a.pdf", PDF, "application/pdf"),
                                                   "new": ("b.pdf", PDF, "application/pdf")})
    assert r.status_code == 413 and "limit" in r.json()["error"]
    assert list(uploads.iterdir()) == []


def test_streamed_upload_without_length_is_cut_at_the_cap(uploads):
    """A chunked body (no Content-Length) is counted as it arrives."""
    c = client(uploads, limit=20_000)
    boundary = "XyZ"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"old\"; filename=\"a.pdf\"\r\n"
            "Content-Type: application/pdf\r\n\r\n%PDF-1.7\n").encode()

    def body():
        yield head
        for _ in range(100):
            yield b"y" * 1000

    r = c.post("/api/v1/example/upload", content=body(),
               headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert r.status_code == 413
    assert list(uploads.iterdir()) == []


def test_missing_file_and_wrong_content_type(uploads):
    c = client(uploads)
    r = c.post("/api/v1/example/upload", files={"old": ("a.pdf", PDF, "application/pdf")})
    assert r.status_code == 400 and "new" in r.json()["error"]
    assert list(uploads.iterdir()) == []
    r = c.post("/api/v1/example/upload", json={"old": "x"})
    assert r.status_code == 415 and "multipart/form-data" in r.json()["error"]


def test_binding_other_than_loopback_needs_a_token():
    check_bind("127.0.0.1", None)
    check_bind("::1", None)
    check_bind("localhost", None)
    with pytest.raises(UnsafeBind, match="PIPELINE_API_TOKEN"):
        check_bind("0.0.0.0", None)
    with pytest.raises(UnsafeBind):
        check_bind("my-host.example", None)
    check_bind("0.0.0.0", "a-token")
    with pytest.raises(UnsafeBind):
        spawn("0.0.0.0", 1, env={"PATH": "/usr/bin"})


def test_server_command_refuses_a_public_address_without_token():
    env = {k: v for k, v in __import__("os").environ.items() if k != "PIPELINE_API_TOKEN"}
    done = subprocess.run([sys.executable, "-m", "pipeline_project.lib.web", "--host", "0.0.0.0", "--port", "1"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2 and "refusing to listen on 0.0.0.0" in done.stderr


def test_spawned_server_answers_on_loopback(tmp_path):
    port = free_port()
    env = dict(__import__("os").environ, PIPELINE_DATA_DIR=str(tmp_path))
    env.pop("PIPELINE_API_TOKEN", None)
    proc = spawn("127.0.0.1", port, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=2) as r:
                    assert r.status == 200 and b'"ok"' in r.read()
                    break
            except OSError:
                assert proc.poll() is None, "the server process exited"
                assert time.monotonic() < deadline, "the server did not answer within 60 s"
                time.sleep(0.3)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
