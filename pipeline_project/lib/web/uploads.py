"""Multipart uploads streamed straight to disk, with a size cap, under names the server picks.

The request body is parsed as it arrives (python-multipart's streaming parser), each wanted file
part written to `<upload folder>/<random>.part`; the cap is checked on every chunk, so an oversized
upload is cut off and deleted instead of filling memory or disk. The client's file name is kept only
as a label (its last path component, cleaned), never as a path.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header

from pipeline_project.lib.text import storable
from pipeline_project.lib.web.errors import ApiError

HEAD_BYTES = 1024  # kept from each file for content sniffing (a PDF's header is within 1 KB)
MAX_PARTS = 16


@dataclass
class Upload:
    field: str
    path: Path  # where the bytes are, under a server-chosen name
    client_name: str  # what the client called it: a label, never a path
    size: int = 0
    head: bytes = b""


def client_label(raw: str | None) -> str:
    """The last component of a client's file name, printable, at most 120 characters."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[\x00-\x1f\x7f]", "", storable(name)).strip().lstrip(".")
    return name[:120] or "unnamed"


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB"


@dataclass
class _State:
    wanted: set[str]
    folder: Path
    uploads: dict[str, Upload] = field(default_factory=dict)
    header_field: bytearray = field(default_factory=bytearray)
    header_value: bytearray = field(default_factory=bytearray)
    headers: dict[str, bytes] = field(default_factory=dict)
    current: Upload | None = None
    handle: object | None = None
    parts: int = 0
    error: ApiError | None = None

    # ---- parser callbacks (synchronous, called from parser.write) -----------------------------
    def on_part_begin(self) -> None:
        self.headers = {}
        self.current = None
        self.parts += 1
        if self.parts > MAX_PARTS:
            self.error = ApiError(400, f"too many parts in the upload (at most {MAX_PARTS})")

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[bytes(self.header_field).decode("latin-1").lower()] = bytes(self.header_value)
        self.header_field.clear()
        self.header_value.clear()

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get("content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if name not in self.wanted or self.error:
            return  # a field we do not use: its bytes are read and dropped
        if name in self.uploads:
            self.error = ApiError(400, f"the file field '{name}' was sent twice")
            return
        filename = options.get(b"filename")
        label = client_label(filename.decode("utf-8", "replace") if filename else name)
        path = self.folder / f"{uuid.uuid4().hex}.part"
        self.current = Upload(name, path, label)
        self.uploads[name] = self.current
        self.handle = open(path, "xb")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.current is None or self.handle is None:
            return
        chunk = data[start:end]
        if len(self.current.head) < HEAD_BYTES:
            self.current.head += chunk[: HEAD_BYTES - len(self.current.head)]
        self.handle.write(chunk)
        self.current.size += len(chunk)

    def on_part_end(self) -> None:
        self.close()

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None
        self.current = None

    def discard(self) -> None:
        self.close()
        for upload in self.uploads.values():
            upload.path.unlink(missing_ok=True)


async def receive_files(request: Request, wanted: set[str], *, required: set[str] | None = None) -> dict[str, Upload]:
    """Stream the multipart body's file fields named in `wanted` to disk; returns field -> Upload.
    Raises ApiError (400/411/413/415) and leaves no partial file behind."""
    settings = request.app.state.settings
    limit = settings.max_upload_bytes
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or not options.get(b"boundary"):
        raise ApiError(415, "send the files as multipart/form-data (e.g. curl -F old=@old.pdf -F new=@new.pdf)")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"upload too large: {_mb(int(declared))}, the limit is {_mb(limit)} per request")
    state = _State(set(wanted), settings.uploads)
    callbacks = {name: getattr(state, name) for name in (
        "on_part_begin", "on_header_field", "on_header_value", "on_header_end", "on_headers_finished",
        "on_part_data", "on_part_end")}
    parser = MultipartParser(options[b"boundary"], callbacks)
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                raise ApiError(413, f"upload too large: more than {_mb(limit)}, the limit per request")
            parser.write(chunk)
            if state.error:
                raise state.error
        parser.finalize()
    except ApiError:
        state.discard()
        raise
    except Exception as exc:  # a malformed body
        state.discard()
        raise ApiError(400, f"the upload is not a valid multipart/form-data body ({type(exc).__name__})") from exc
    state.close()
    missing = sorted((required or set()) - set(state.uploads))
    if missing:
        state.discard()
        raise ApiError(400, f"missing file field(s): {', '.join(missing)}")
    return state.uploads
