"""The web server's settings, read from the environment once per app."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pipeline_project.lib.settings import data_dir, env_int

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_MAX_UPLOAD_MB = 512


@dataclass(frozen=True)
class WebSettings:
    token: str | None = None  # access token; None = no token needed (loopback only)
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_MB * 1024 * 1024  # per request
    upload_dir: Path | None = None  # where uploads stream to (default $PIPELINE_DATA_DIR/uploads)

    @classmethod
    def from_env(cls, token: str | None = None) -> "WebSettings":
        return cls(token=token if token is not None else (os.environ.get("PIPELINE_API_TOKEN") or None),
                   max_upload_bytes=env_int("PIPELINE_API_MAX_UPLOAD_MB", DEFAULT_MAX_UPLOAD_MB) * 1024 * 1024)

    @property
    def uploads(self) -> Path:
        folder = self.upload_dir or data_dir() / "uploads"
        folder.mkdir(parents=True, exist_ok=True)
        return folder
