"""SLURM payload: OCR one batch inside one SLURM job (uploaded and started by dagster-slurm).

Runs on the cluster under the pre-deployed env (`<env>/env/bin/python olmocr_payload.py`), talks to
Dagster through Pipes (logs), and exchanges data through the shared filesystem: it reads the batch
manifest the engine wrote and writes `records.jsonl`, `failures.json` and `summary.json` (or
`error.txt` with the traceback) into the attempt's output folder.

Modes (extras["mode"]):
- "olmocr": production. `python -m olmocr.pipeline WORKSPACE --markdown --pdfs ...` on a GPU node,
  then its `WORKSPACE/results/*.jsonl` are converted to our records (doc_id, page_methods added).
  Needs only dagster-pipes + olmocr in the cluster env; this module imports nothing of the project.
- "cpu": the CPU STAND-IN used by tests and CI. Runs Tesseract (the local engine's OCR) on EVERY page
  it is sent, as olmOCR would; needs pipeline_project importable there (extras["project_src"] is put
  on sys.path) with its dependencies.

The PDFs it gets are the batch's routed PDFs (ocr/routing.py): only pages without a usable text layer.
It writes its SLURM job id into the output folder first thing, so a retried Dagster run can find a
running job again (pipeline_project/lib/slurm_batch.py).
"""

import glob
import json
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

OLMOCR_SOURCE = "olmocr"


def _write_json(path: Path, obj) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)  # the engine never reads a half-written file


def _write_jsonl(path: Path, records: list[dict]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def convert_olmocr_record(rec: dict, doc_id: str, source_file: str) -> dict:
    """olmOCR's record plus what our warehouse needs: metadata.doc_id and attributes.page_methods."""
    out = json.loads(json.dumps(rec))  # deep copy
    meta = out.setdefault("metadata", {})
    meta["olmocr-source-path"] = meta.get("Source-File", "")
    meta["Source-File"] = source_file
    meta["doc_id"] = doc_id
    text = out.get("text") or ""
    spans = (out.setdefault("attributes", {}).get("pdf_page_numbers")) or []
    out["attributes"]["page_methods"] = ["ocr" if text[s:e].strip() else "empty" for s, e, _ in spans]
    return out


def read_olmocr_results(workspace: Path, manifest: list[dict]) -> tuple[list[dict], dict[str, str]]:
    """Match olmOCR's results (keyed by the PDF path we passed) back to our documents."""
    by_path = {str(Path(m["pdf_path"])): m for m in manifest}
    records: dict[str, dict] = {}
    for path in sorted(glob.glob(str(workspace / "results" / "*.jsonl"))):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                rec = json.loads(line)
                src = (rec.get("metadata") or {}).get("Source-File", "")
                item = by_path.get(str(Path(src))) if src else None
                if item is not None:
                    records[item["doc_id"]] = convert_olmocr_record(rec, item["doc_id"], item["source_file"])
    failures = {m["doc_id"]: "olmOCR produced no output for this document (page errors above its "
                             "max_page_error_rate, or the document was skipped)"
                for m in manifest if m["doc_id"] not in records}
    ordered = [records[m["doc_id"]] for m in manifest if m["doc_id"] in records]
    return ordered, failures


def run_olmocr(manifest: list[dict], out_dir: Path, extras: dict, log) -> tuple[list[dict], dict]:
    workspace = out_dir / "olmocr_workspace"
    workspace.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "olmocr.pipeline", str(workspace), "--markdown",
           *extras.get("olmocr_args", []), "--pdfs", *[m["pdf_path"] for m in manifest]]
    log(f"running: {' '.join(cmd[:8])} ... ({len(manifest)} PDFs)")
    proc = subprocess.run(cmd, check=False)  # its output goes to the job's stdout/stderr (streamed)
    if proc.returncode != 0:
        raise RuntimeError(f"olmocr.pipeline exited with {proc.returncode}")
    return read_olmocr_results(workspace, manifest)


def run_cpu_stand_in(manifest: list[dict], out_dir: Path, extras: dict, log) -> tuple[list[dict], dict]:
    """CPU STAND-IN (tests/CI): Tesseract on every page, as the local engine OCRs a scanned page."""
    if extras.get("project_src"):
        sys.path.insert(0, extras["project_src"])
    from pipeline_project.defs.documents.ocr.base import OcrInput
    from pipeline_project.defs.documents.ocr.local import LocalOcrEngine

    inputs = [OcrInput(m["doc_id"], Path(m["pdf_path"]), m["source_file"], int(m["pages"])) for m in manifest]
    # no page is taken from a text layer here: routing already read those on the Dagster side, and
    # olmOCR, which this stands in for, OCRs every page it gets
    engine = LocalOcrEngine(workers=int(extras.get("cpu_workers") or 0), min_text_chars=10**9)
    # parts are kept in the batch folder (not the attempt's): a retried job resumes finished documents
    result = engine.ocr_batch(None, extras.get("batch_id", ""), inputs, Path(extras["parts_dir"]))
    return result.records, result.failures


def main() -> None:
    from dagster_pipes import open_dagster_pipes

    with open_dagster_pipes() as pipes:
        extras = pipes.extras
        out_dir = Path(extras["out_dir"])
        out_dir.mkdir(parents=True, exist_ok=True)
        started = time.time()
        job = os.environ.get("SLURM_JOB_ID", "?")
        if job.isdigit():  # lets a retried Dagster run find this job again (lib/slurm_batch.py)
            (out_dir / "job_id").write_text(job, encoding="utf-8")
        try:
            manifest = json.loads(Path(extras["manifest"]).read_text(encoding="utf-8"))
            mode = extras.get("mode", "olmocr")
            pipes.log.info(f"batch {extras.get('batch_id')}: {len(manifest)} documents, mode={mode}, "
                           f"job {job} on {os.uname().nodename}, "
                           f"CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', '')}")
            if mode == "olmocr":
                records, failures = run_olmocr(manifest, out_dir, extras, pipes.log.info)
            elif mode == "cpu":
                records, failures = run_cpu_stand_in(manifest, out_dir, extras, pipes.log.info)
            else:
                raise ValueError(f"unknown payload mode {mode!r} (olmocr | cpu)")
            _write_jsonl(out_dir / "records.jsonl", records)
            _write_json(out_dir / "failures.json", failures)
            pages = sum(len((r.get("attributes") or {}).get("pdf_page_numbers") or []) for r in records)
            summary = {"documents": len(records), "failures": len(failures), "pages": pages,
                       "payload_seconds": round(time.time() - started, 3), "mode": mode,
                       "node": os.uname().nodename, "slurm_job_id": job}
            _write_json(out_dir / "summary.json", summary)
            pipes.log.info(f"done: {json.dumps(summary)}")
        except BaseException:
            # The engine reads this file to put the job's error into the Dagster log and dead letters.
            (out_dir / "error.txt").write_text(traceback.format_exc()[-4000:], encoding="utf-8")
            raise


if __name__ == "__main__":
    main()
