"""Streaming corpus OCR benchmark: prints figures, asserts nothing.

1. Download throughput from a local HTTP server (127.0.0.1) that drops ~5 % of connections mid-body
   and adds per-request latency (a stand-in for a remote archive).
2. End-to-end items/hour on the same corpus: streaming (download ∥ OCR ∥ cleanup, slices flowing
   through a queue as the Dagster sensors make them flow) versus sequential (download all, then OCR
   all, then clean up all). OCR is the local engine (PyMuPDF text layer + Tesseract for scanned pages).
3. SLURM overhead per batch at 1,000 pages: one SlurmOcrEngine job (CPU stand-in payload) on the local
   cluster (scripts/slurm/up.sh; skipped if it is not up); overhead = batch wall − payload time.

    .venv/bin/python benchmarks/streaming_bench.py [--items 60] [--latency 0.15] [--skip-slurm]
"""

from __future__ import annotations

import argparse
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pymupdf  # noqa: E402

from pipeline_project.defs.documents.intake import sha256_file  # noqa: E402
from pipeline_project.defs.documents.ocr.base import OcrInput  # noqa: E402
from pipeline_project.defs.documents.ocr.local import LocalOcrEngine  # noqa: E402
from pipeline_project.defs.ingest.downloader import FetchSettings, SliceDownloader  # noqa: E402
from pipeline_project.defs.ingest.items import parse_list, slices_of  # noqa: E402
from pipeline_project.defs.ingest.download_ledger import DownloadLedger  # noqa: E402
from pipeline_project.lib.warehouse import warehouse_from_path  # noqa: E402
from pipeline_project.samples.file_server import FileServer  # noqa: E402


def make_pdf(label: str, text_pages: int, scanned: bool, pad: int) -> bytes:
    doc = pymupdf.open()
    for n in range(text_pages):
        doc.new_page().insert_text((72, 72), f"{label} page {n + 1}: born-digital text " * 3)
    if scanned:  # an image-only page: the engine must run Tesseract on it
        src = pymupdf.open()
        body = "\n".join(f"{label} scanned line {k}: the quick brown fox jumps over the lazy dog" for k in range(30))
        src.new_page().insert_text((50, 60), body, fontsize=11)
        pix = src[0].get_pixmap(dpi=150)
        doc.new_page().insert_image(doc[0].rect, pixmap=pix)
    data = doc.tobytes()
    return data + b"\n%" + os.urandom(pad).replace(b"\n", b" ").replace(b"\r", b" ") if pad else data


def corpus(n: int, pad: int) -> dict[str, bytes]:
    return {f"doc{i:04d}": make_pdf(f"doc{i:04d}", 3, scanned=(i % 3 == 0), pad=pad) for i in range(n)}


def downloader(root: Path, workers: int) -> tuple[SliceDownloader, Path]:
    inbox = root / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    settings = FetchSettings(attempts=6, backoff_initial_seconds=0.05, backoff_max_seconds=0.5,
                             per_host_concurrency=workers)
    ledger = DownloadLedger(warehouse_from_path(str(root / "warehouse.duckdb")))
    return SliceDownloader(inbox=inbox, ledger=ledger, settings=settings,
                           workers=workers, should_pause=lambda: ""), inbox


def ocr_and_cleanup(engine: LocalOcrEngine, inbox: Path, names: list[str], work: Path) -> int:
    inputs = []
    for name in names:
        pdf = inbox / f"{name}.pdf"
        with pymupdf.open(pdf) as d:
            inputs.append(OcrInput(sha256_file(pdf), pdf, pdf.name, d.page_count))
    result = engine.ocr_batch(None, work.name, inputs, work)
    for item in inputs:  # cleanup after verified ingest
        item.pdf_path.unlink()
    return sum(len(r["attributes"]["page_methods"]) for r in result.records)


def run_sequential(files, base_url, slice_size, workers, tmp: Path) -> float:
    dl, inbox = downloader(tmp, workers)
    items = parse_list("\n".join(files), url_template="{base_url}/{id}/{id}.pdf", base_url=base_url)
    start = time.monotonic()
    dl.run("all", items)
    ocr_and_cleanup(LocalOcrEngine(), inbox, [i.item_id for i in items], tmp / "work-all")
    return time.monotonic() - start


def run_streaming(files, base_url, slice_size, workers, tmp: Path) -> float:
    dl, inbox = downloader(tmp, workers)
    items = parse_list("\n".join(files), url_template="{base_url}/{id}/{id}.pdf", base_url=base_url)
    ready: queue.Queue = queue.Queue()
    start = time.monotonic()

    def produce():
        for key, chunk in sorted(slices_of(items, slice_size).items()):
            dl.run(key, chunk)
            ready.put((key, [i.item_id for i in chunk]))
        ready.put(None)

    threading.Thread(target=produce, daemon=True).start()
    engine = LocalOcrEngine()
    while (job := ready.get()) is not None:  # OCR + cleanup of slice k overlap the download of k+1
        ocr_and_cleanup(engine, inbox, job[1], tmp / f"work-{job[0]}")
    return time.monotonic() - start


def bench_downloads(files, latency, workers) -> None:
    with FileServer(files, drop_rate=0.05, delay=latency, seed=1) as srv, tempfile.TemporaryDirectory() as tmp:
        dl, _ = downloader(Path(tmp), workers)
        items = parse_list("\n".join(files), url_template="{base_url}/{id}/{id}.pdf", base_url=srv.base_url)
        report = dl.run("all", items)
        mb = report.bytes / 1e6
        print(f"download: {report.downloaded} items, {mb:.1f} MB in {report.seconds:.2f} s = "
              f"{mb / report.seconds:.1f} MB/s, {report.downloaded / report.seconds:.1f} items/s "
              f"({workers} workers, {latency * 1000:.0f} ms latency/request, {srv.drops} connections dropped, "
              f"{report.resumed_bytes / 1e6:.2f} MB resumed via Range, failures={len(report.failures)})")
    with FileServer(files, drop_rate=0.0, delay=0.0) as srv, tempfile.TemporaryDirectory() as tmp:
        dl, _ = downloader(Path(tmp), workers)
        items = parse_list("\n".join(files), url_template="{base_url}/{id}/{id}.pdf", base_url=srv.base_url)
        report = dl.run("all", items)
        print(f"download (no latency, no drops): {report.bytes / 1e6 / report.seconds:.1f} MB/s, "
              f"{report.downloaded / report.seconds:.1f} items/s")


def bench_pipeline(files, latency, workers, slice_size) -> None:
    results = {}
    for name, fn in (("sequential", run_sequential), ("streaming", run_streaming)):
        with FileServer(files, drop_rate=0.05, delay=latency, seed=2) as srv, \
                tempfile.TemporaryDirectory() as tmp:
            results[name] = fn(files, srv.base_url, slice_size, workers, Path(tmp))
        print(f"{name}: {len(files)} items in {results[name]:.1f} s = "
              f"{len(files) / results[name] * 3600:,.0f} items/hour")
    print(f"streaming speed-up: {results['sequential'] / results['streaming']:.2f}x "
          f"(slices of {slice_size}; {sum(1 for i in range(len(files)) if i % 3 == 0)} scanned pages OCR'd)")


def bench_slurm(pages: int) -> None:
    state = ROOT / ".ci-state" / "slurm" / "env.sh"
    if not state.exists() or subprocess.run(["sinfo", "-h"], capture_output=True).returncode != 0:
        print("slurm: cluster not up (scripts/slurm/up.sh); skipped")
        return
    for line in state.read_text().splitlines():
        if line.startswith("export "):
            key, _, value = line[7:].partition("=")
            os.environ[key] = value
    os.environ.setdefault("PIPELINE_SLURM_GPUS", "1")
    import dagster as dg  # noqa: F811

    from pipeline_project.defs.documents.ocr.slurm import SlurmOcrEngine

    engine = SlurmOcrEngine.from_env()
    with tempfile.TemporaryDirectory(dir=ROOT / ".ci-state") as tmp:
        tmp = Path(tmp)
        inputs = []
        per_doc = 50
        for d in range(pages // per_doc):
            doc = pymupdf.open()
            for n in range(per_doc):
                doc.new_page().insert_text((72, 72), f"document {d} page {n}: born-digital text " * 4)
            path = tmp / f"d{d}.pdf"
            doc.save(path)
            inputs.append(OcrInput(sha256_file(path), path, path.name, per_doc))
        box = {}

        @dg.asset(name="ocr_probe")
        def ocr_probe(context):
            box["r"] = engine.ocr_batch(context, "bench", inputs, tmp / "work")
            return dg.MaterializeResult()  # a step that used Pipes must report a result

        started = time.monotonic()
        dg.materialize([ocr_probe], run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}})
        step_wall = time.monotonic() - started
    m = box["r"].metadata
    if m.get("slurm_outcome") == "not_needed":  # born-digital pages are read here; only scans go to the GPU
        print(f"slurm: {m['pages_text_layer']} text-layer pages, 0 sent to the GPU: no job (born-digital routing); "
              "job overhead: benchmarks/slurm_routing_bench.py")
        return
    overhead = m["slurm_overhead_seconds"]
    print(f"slurm: 1 job, {m['pages_ocr']} pages: batch wall {m['batch_wall_seconds']:.1f} s "
          f"(Dagster run {step_wall:.1f} s), payload {m['payload_seconds']:.1f} s, SLURM+ssh+Pipes overhead "
          f"{overhead:.1f} s = {overhead / m['batch_wall_seconds']:.0%} of batch wall with the CPU stand-in "
          f"(text-layer pages)")
    for label, pages_per_s in (("olmOCR-2 on one H100, ~4.5 pages/s", 4.5), ("Tesseract, 2 cores", 2 / 2.6)):
        work = pages / pages_per_s
        print(f"slurm: projected overhead share at {pages} pages with {label}: "
              f"{overhead / (work + overhead):.1%} ({work:.0f} s of OCR)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=60)
    ap.add_argument("--pad-kb", type=int, default=300)
    ap.add_argument("--latency", type=float, default=0.3)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--slice-size", type=int, default=10)
    ap.add_argument("--slurm-pages", type=int, default=1000)
    ap.add_argument("--skip-slurm", action="store_true")
    args = ap.parse_args()
    files = corpus(args.items, args.pad_kb * 1024)
    print(f"corpus: {len(files)} PDFs, {sum(map(len, files.values())) / 1e6:.1f} MB, machine: {os.cpu_count()} cores")
    bench_downloads(files, args.latency, args.workers)
    bench_pipeline(files, args.latency, args.workers, args.slice_size)
    if not args.skip_slurm:
        bench_slurm(args.slurm_pages)


if __name__ == "__main__":
    main()
