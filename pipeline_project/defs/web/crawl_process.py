"""The crawl process: `python -m pipeline_project.defs.web.crawl_process RUN_DIR ITEMS_DIR PDF_DIR`.

One process per crawl run (Scrapy's reactor cannot restart inside a Dagster run or the CLI). It reads
RUN_DIR/config.yaml, writes item files into ITEMS_DIR and linked PDFs into PDF_DIR as pages arrive,
and reports through RUN_DIR/events.jsonl and RUN_DIR/state.json (crawl_log.py). `start_crawl`
launches it; `wait_for_crawl` waits for it and records a killed process as failed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from pipeline_project.defs.web.config import CrawlConfig, dump_config, load_config
from pipeline_project.defs.web.crawl_log import CrawlLog, mark_dead, new_run_id, read_run


@dataclass
class CrawlProcess:
    run_dir: Path
    process: subprocess.Popen

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def wait(self, timeout: float | None = None) -> int:
        try:
            code = self.process.wait(timeout)
        finally:
            if self.process.poll() is not None:
                mark_dead(self.run_dir, f"the crawl process exited with code {self.process.returncode} "
                                        "before finishing (see crawl.log)")
        return code

    def stop(self) -> None:
        """SIGTERM (Scrapy finishes in-flight pages and closes cleanly), then SIGKILL."""
        if self.running():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        mark_dead(self.run_dir, "stopped")


def crawls_root(data_root: Path) -> Path:
    return Path(data_root) / "web" / "crawls"


def prepare_run(config: CrawlConfig, data_root: Path, run_id: str | None = None) -> Path:
    run_dir = crawls_root(data_root) / config.name / "runs" / (run_id or new_run_id())
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(dump_config(config), encoding="utf-8")
    return run_dir


def start_crawl(config: CrawlConfig, data_root: Path, items_dir: Path, pdf_dir: Path,
                run_id: str | None = None) -> CrawlProcess:
    """Start the crawl in its own process and return at once (pages arrive as item files)."""
    run_dir = prepare_run(config, data_root, run_id)
    argv = [sys.executable, "-m", "pipeline_project.defs.web.crawl_process", str(run_dir), str(items_dir), str(pdf_dir)]
    with open(run_dir / "process.out", "ab") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
    (run_dir / "pid").write_text(str(proc.pid))
    return CrawlProcess(run_dir, proc)


def wait_until_started(run_dir: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not (Path(run_dir) / "state.json").exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the crawl in {run_dir} did not start within {timeout:.0f}s (see process.out)")
        time.sleep(0.1)


def run(run_dir: Path, items_dir: Path, pdf_dir: Path) -> int:
    from scrapy.crawler import CrawlerProcess

    from pipeline_project.defs.web.spider import build_spider_class, scrapy_settings

    config = load_config(run_dir / "config.yaml")
    run_id = run_dir.name
    items_dir.mkdir(parents=True, exist_ok=True)
    log = CrawlLog(run_dir, config.name, run_id, config.page_limit)
    process = CrawlerProcess(scrapy_settings(config, items_dir, run_dir / "crawl.log"))
    crawler = process.create_crawler(build_spider_class())
    reasons: list[str] = []

    def closed(spider, reason):
        reasons.append(reason)

    from scrapy import signals

    crawler.signals.connect(closed, signal=signals.spider_closed)
    try:
        process.crawl(crawler, crawl=config, log=log, pdf_dir=str(pdf_dir), run_id=run_id)
        process.start()
    except BaseException as exc:  # noqa: BLE001 - recorded, then re-raised
        log.finish(f"crashed: {type(exc).__name__}: {exc}", failed=True)
        raise
    reason = reasons[0] if reasons else "finished"
    log.finish(reason, failed=reason not in ("finished", "page_limit", "closespider_itemcount", "shutdown"))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    run_dir, items_dir, pdf_dir = (Path(a).resolve() for a in argv)
    return run(run_dir, items_dir, pdf_dir)


if __name__ == "__main__":
    sys.exit(main())
