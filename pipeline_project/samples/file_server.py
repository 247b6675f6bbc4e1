"""A local HTTP file server for downloader tests and the benchmark (127.0.0.1, in a thread).

Serves `/<id>/<id>.pdf` from memory with HTTP Range support, and misbehaves on request: cut the
first response of some files mid-body (dropped connection), answer 503 first, or 404.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FileServer:
    def __init__(self, files: dict[str, bytes], *, drop_first: set[str] = frozenset(),
                 fail_503_first: set[str] = frozenset(), drop_rate: float = 0.0, delay: float = 0.0,
                 seed: int = 0):
        self.files = dict(files)
        self.drop_first, self.fail_503_first = set(drop_first), set(fail_503_first)
        self.drop_rate, self.delay = drop_rate, delay
        self.rng = random.Random(seed)
        self.requests: Counter = Counter()  # per id
        self.full_bodies: Counter = Counter()  # complete 200 bodies sent per id (a "download")
        self.range_requests: Counter = Counter()
        self.drops = 0
        self.bytes_sent = 0
        self.active = 0
        self.max_active = 0
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> "FileServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                with server.lock:
                    server.active += 1
                    server.max_active = max(server.max_active, server.active)
                try:
                    self._serve()
                finally:
                    with server.lock:
                        server.active -= 1

            def _serve(self):
                item = self.path.strip("/").split("/")[0]
                with server.lock:
                    server.requests[item] += 1
                    first = server.requests[item] == 1
                if server.delay:
                    time.sleep(server.delay)
                if item not in server.files:
                    return self._plain(404)
                if first and item in server.fail_503_first:
                    return self._plain(503)
                data = server.files[item]
                start = 0
                rng = self.headers.get("Range", "")
                if rng.startswith("bytes="):
                    start = int(rng[6:].split("-")[0] or 0)
                    with server.lock:
                        server.range_requests[item] += 1
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Type", "application/pdf")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with server.lock:
                    drop = (first and item in server.drop_first) or (
                        server.drop_rate and server.rng.random() < server.drop_rate)
                if drop and len(body) > 1:
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    with server.lock:
                        server.drops += 1
                        server.bytes_sent += len(body) // 2
                    self.close_connection = True
                    self.connection.shutdown(2)  # the client sees a short body: a dropped connection
                    return
                self.wfile.write(body)
                with server.lock:
                    server.bytes_sent += len(body)
                    if start == 0:
                        server.full_bodies[item] += 1

            def _plain(self, code: int):
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

        return Handler


def make_pdf_bytes(label: str, pages: int = 1, pad_bytes: int = 0) -> bytes:
    """A small real PDF; `pad_bytes` of random data in a trailing comment make it as large as needed."""
    import pymupdf

    doc = pymupdf.open()
    for n in range(pages):
        doc.new_page().insert_text((72, 72), f"{label} page {n + 1}: the quick brown fox jumps over the lazy dog")
    data = doc.tobytes()
    if pad_bytes:
        data += b"\n%" + random.Random(label).randbytes(pad_bytes).replace(b"\n", b" ").replace(b"\r", b" ")
    return data
