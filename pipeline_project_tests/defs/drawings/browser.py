"""A real headless Chromium (Debian's) driven over the DevTools protocol, for pages that update by
polling: --dump-dom shows one moment, this keeps one page open and reads its DOM as it changes.

Started with the flags that work on this machine's closed network, a fresh profile each time, and
stopped by PID. Needs the `websockets` package (its sync client) and `chromium` on PATH."""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from websockets.sync.client import connect

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio", "--window-size=1400,1000",
         "--remote-debugging-port=0"]


class Browser:
    def __init__(self, workdir: Path):
        chromium = shutil.which("chromium")
        if chromium is None:
            raise RuntimeError("chromium is not installed: run `bash scripts/install_browser.sh`")
        self.profile = Path(workdir) / "chromium-profile"
        shutil.rmtree(self.profile, ignore_errors=True)
        self.log = open(Path(workdir) / "chromium.log", "w")
        self.proc = subprocess.Popen([chromium, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
                                     stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        port = self._devtools_port()
        targets = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10).read())
        page = next(t for t in targets if t["type"] == "page")
        self.ws = connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=20)
        self._id = 0
        self.prompt_answer: str | None = None  # typed into any window.prompt the page opens
        self.dialogs: list[str] = []  # the messages of the dialogs the page opened
        self.send("Page.enable")
        self.send("Runtime.enable")

    def _devtools_port(self) -> int:
        marker = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.proc.returncode}; see {self.log.name}")
            if marker.exists() and marker.read_text().strip():
                return int(marker.read_text().split()[0])
            time.sleep(0.1)
        raise RuntimeError("chromium did not open its DevTools port within 60 s")

    def send(self, method: str, params: dict | None = None) -> dict:
        self._id += 1
        mine = self._id
        self.ws.send(json.dumps({"id": mine, "method": method, "params": params or {}}))
        while True:
            message = json.loads(self.ws.recv(timeout=60))
            if message.get("method") == "Page.javascriptDialogOpening":
                self._answer(message["params"])
                continue
            if message.get("id") == mine:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def _answer(self, dialog: dict) -> None:
        """A person answering a prompt: typed text (or cancel when there is none)."""
        self.dialogs.append(dialog.get("message", ""))
        self._id += 1
        params = {"accept": self.prompt_answer is not None, "promptText": self.prompt_answer or ""}
        self.ws.send(json.dumps({"id": self._id, "method": "Page.handleJavaScriptDialog", "params": params}))

    def open(self, url: str) -> None:
        self.send("Page.navigate", {"url": url})

    def js(self, expression: str):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails'].get('text')}: {expression}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 120, what: str = "") -> object:
        """Poll a JS expression until it is truthy (the page updates itself in between)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = self.js(expression)
            except RuntimeError:
                value = None  # the page is still loading
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"page never showed {what or expression} within {timeout:.0f} s")
            time.sleep(0.25)

    def screenshot(self, path: Path) -> Path:
        data = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": False})["data"]
        Path(path).write_bytes(base64.b64decode(data))
        return Path(path)

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            self.log.close()
            shutil.rmtree(self.profile, ignore_errors=True)
