"""OCR engine that sends a batch's scanned pages to olmOCR as ONE SLURM job (dagster-slurm).

Born-digital routing (ocr/routing.py): pages with a usable text layer are read here, as the local
engine reads them; only the others are copied into routed PDFs for the GPU, with a page map that
puts every OCR'd page back at its exact place. A batch with no scanned page submits no job at all.

The job itself (submission, retries, reattaching after a killed run, never touching a live job's
folder) is pipeline_project.lib.slurm_batch. Failures never raise out of `ocr_batch`: after the last
attempt the documents that needed OCR are returned as failures with the reason (dead letters);
born-digital documents of the same batch still go through.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from pipeline_project.defs.documents.ocr.base import OcrBatchResult, OcrEngine, OcrInput
from pipeline_project.defs.documents.ocr.routing import RoutedBatch, map_back, route_batch, write_routed_pdfs
from pipeline_project.defs.documents.olmocr_format import (PAGE_EMPTY, PAGE_OCR, PAGE_TEXT_LAYER, DocumentText,
                                                           build_record)
from pipeline_project.lib.settings import env_int, env_str
from pipeline_project.lib.slurm_batch import JobOutcome, SlurmCluster, cluster_settings_from_env, fingerprint

PAYLOAD = Path(__file__).with_name("olmocr_payload.py")
PROJECT_ROOT = Path(__file__).resolve().parents[4]
ENGINE_VERSION = "pipeline_project-slurm-routed-1"
CPU_STAND_IN = ("cpu: Tesseract inside the SLURM job stands in for olmOCR (no GPU here); "
                "the routing, the job and the page mapping are the production ones")


class SlurmOcrEngine(SlurmCluster, OcrEngine):
    """olmOCR (or the CPU stand-in) on a SLURM cluster. Settings: see `from_env` and docs/SLURM.md."""

    payload_mode: str = "olmocr"  # olmocr (production) | cpu (CPU STAND-IN for tests/CI)
    olmocr_args: list[str] = []  # extra olmocr.pipeline arguments, e.g. ["--model", "/models/olmOCR-2"]
    cpu_workers: int = 0
    min_text_chars: int = 20  # the local engine's rule for a usable text layer
    pages_per_pdf: int = 500  # pages per routed PDF (olmOCR drops a PDF whose page errors pass its limit)

    @property
    def engine_name(self) -> str:
        return f"slurm-{self.payload_mode}"

    @classmethod
    def from_env(cls) -> "SlurmOcrEngine":
        return cls(
            **cluster_settings_from_env(),
            payload_mode=env_str("PIPELINE_SLURM_PAYLOAD_MODE", "olmocr"),
            olmocr_args=shlex.split(env_str("PIPELINE_SLURM_OLMOCR_ARGS", "")),
            pages_per_pdf=env_int("PIPELINE_SLURM_PAGES_PER_PDF", 500),
            payload_path=env_str("PIPELINE_SLURM_OCR_PAYLOAD", ""),  # a site's own wrapper script
        )

    def ocr_batch(self, context, batch_id: str, inputs: list[OcrInput], work_dir: Path) -> OcrBatchResult:
        routed = route_batch(inputs, self.min_text_chars)
        gpu_pages = routed.for_gpu
        metadata = {"engine": self.engine_name, "pages_sent_to_gpu": len(gpu_pages),
                    "pages_text_layer": routed.text_layer_pages}
        if self.payload_mode == "cpu":
            metadata["ocr_stand_in"] = CPU_STAND_IN
        if context is not None:
            context.log.info(f"OCR {batch_id}: {routed.text_layer_pages} pages read from the text layer, "
                             f"{len(gpu_pages)} pages to OCR on SLURM ({self.payload_mode})")
        ocr_pages, failures = {}, dict(routed.failures)
        if gpu_pages:
            outcome = self._run_job(context, batch_id, routed, inputs, Path(work_dir) / "slurm")
            metadata.update(self._job_metadata(outcome))
            if outcome.ok:
                ocr_pages, job_failures = self._read_output(outcome.out_dir)
                failures.update(job_failures)
            else:
                for doc_id, _ in gpu_pages:
                    failures[doc_id] = f"SLURM OCR gave up after {outcome.attempts} attempt(s): {outcome.reason}"
        else:
            metadata["slurm_outcome"] = "not_needed"  # every page had a text layer: no job submitted
        result = self._assemble(inputs, routed, ocr_pages, failures)
        counts = {PAGE_TEXT_LAYER: 0, PAGE_OCR: 0, PAGE_EMPTY: 0}
        for record in result.records:
            for method in record["attributes"]["page_methods"]:
                counts[method] += 1
        metadata.update(pages_ocr=counts[PAGE_OCR], pages_empty=counts[PAGE_EMPTY])
        result.metadata = metadata
        return result

    def _run_job(self, context, batch_id: str, routed: RoutedBatch, inputs: list[OcrInput],
                 slurm_dir: Path) -> JobOutcome:
        key = fingerprint({"pages": routed.for_gpu, "mode": self.payload_mode, "per_pdf": self.pages_per_pdf})

        def prepare(out_dir: Path) -> dict:
            manifest = write_routed_pdfs(routed, inputs, out_dir, self.pages_per_pdf, self.to_cluster)
            (out_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
            # cpu stand-in: per-PDF results kept per routing, so a new attempt resumes finished PDFs
            return self._extras(batch_id, slurm_dir / f"parts-{key}", out_dir)

        return self.run_batch_job(context, label=f"OCR {batch_id}", work_dir=slurm_dir, inputs_fingerprint=key,
                                  prepare=prepare, payload=PAYLOAD)

    def _extras(self, batch_id: str, parts_dir: Path, out_dir: Path) -> dict:
        return {
            "batch_id": batch_id, "mode": self.payload_mode,
            "manifest": self.to_cluster(out_dir / "manifest.json"),
            "parts_dir": self.to_cluster(parts_dir), "olmocr_args": list(self.olmocr_args),
            "project_src": self.project_src or self.to_cluster(PROJECT_ROOT), "cpu_workers": self.cpu_workers,
        }

    @staticmethod
    def _read_output(out_dir: Path) -> tuple[dict, dict]:
        """The job's records (one per routed PDF) mapped back to (doc_id, page)."""
        manifest = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
        lines = (out_dir / "records.jsonl").read_text(encoding="utf-8").splitlines()
        records = [json.loads(line) for line in lines if line.strip()]
        lost = json.loads((out_dir / "failures.json").read_text(encoding="utf-8"))
        failures = {}
        for entry in manifest:
            if entry["doc_id"] in lost:
                for doc_id, page in entry["page_map"]:
                    failures.setdefault(doc_id, f"page {page}: {lost[entry['doc_id']]}")
        return map_back(records, manifest), failures

    def _assemble(self, inputs: list[OcrInput], routed: RoutedBatch, ocr_pages: dict,
                  failures: dict) -> OcrBatchResult:
        """One record per document, pages in their own order, whatever way each was read."""
        result = OcrBatchResult(failures={})
        for item in inputs:
            if item.doc_id in failures:
                result.failures[item.doc_id] = failures[item.doc_id]
                continue
            slots = routed.pages[item.doc_id]
            pages = [slot or ocr_pages.get((item.doc_id, n)) for n, slot in enumerate(slots, 1)]
            missing = [n for n, page in enumerate(pages, 1) if page is None]
            if missing:  # never store a document with a hole in it
                result.failures[item.doc_id] = f"OCR returned no text for page(s) {missing}"
                continue
            doc = DocumentText(doc_id=item.doc_id, source_file=item.source_file, pages=pages)
            result.records.append(build_record(doc, source=f"pipeline_project:text_layer+{self.engine_name}",
                                               engine_version=ENGINE_VERSION))
        return result

    def _job_metadata(self, outcome: JobOutcome) -> dict:
        summary = outcome.summary()
        meta = {"slurm_outcome": "completed" if outcome.ok else "failed", "slurm_job": outcome.how,
                "slurm_attempts": outcome.attempts, "routed_pdfs": summary.get("documents", 0) if outcome.ok else 0,
                **outcome.metadata}
        if outcome.ok:
            meta["payload_seconds"] = summary.get("payload_seconds", 0.0)
            meta["pages_ocr_in_job"] = summary.get("pages", 0)
            if "batch_wall_seconds" in meta:  # everything that is not the payload's own work
                meta["slurm_overhead_seconds"] = round(meta["batch_wall_seconds"] - meta["payload_seconds"], 2)
        else:
            meta["slurm_failure"] = outcome.reason
        if outcome.history:
            meta["slurm_attempt_history"] = json.dumps(outcome.history)
        if outcome.job_id:
            meta["slurm_job_id"] = outcome.job_id
        return meta
