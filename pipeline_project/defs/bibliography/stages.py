"""The extraction and enrichment stages for one OCR batch: what the assets and the CLI both run.

extract_batch: the batch's page texts (documents domain) → bib_documents, bib_lists, no_metadata,
    ledger rows "lists" (per document) and "extract" (per reference).
enrich_batch: the batch's references not enriched yet → with_metadata, ledger rows "enrich":
    done (matched/unmatched), pending (waiting for a service, with when to retry), failed.
The download stages are in downloads.py.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

import pandas as pd

from pipeline_project.defs.bibliography import warehouse_io as io
from pipeline_project.defs.bibliography.enrich import MATCHED, UNMATCHED, WAITING, Enricher, Outcome, RefInput
from pipeline_project.defs.bibliography.extraction import DocumentReferences, extract, reference_id
from pipeline_project.defs.bibliography.pool import FAILED, enrich_all
from pipeline_project.defs.bibliography.progress import Progress
from pipeline_project.lib import ledger

FIELDS = ("authors", "first_author", "title", "year", "venue", "volume", "issue", "pages", "doi", "arxiv_id", "url")


@dataclass
class ExtractReport:
    documents: int = 0
    with_lists: int = 0
    without_list: int = 0
    failed: int = 0
    references: int = 0
    pages: int = 0
    styles: Counter = field(default_factory=Counter)
    seconds: float = 0.0


def _document_rows(batch_id: str, doc_id: str, source: str, pages: list, depth: int, doc: DocumentReferences | None,
                   error: str | None):
    outcome = ("extraction failed" if error else "no text" if not any(t.strip() for _, t in pages)
               else "lists found" if doc and doc.lists else "no reference list")
    row = {"doc_id": doc_id, "batch_id": batch_id, "source_file": source, "pages": len(pages), "depth": depth,
           "own_doi": doc.own_doi if doc else None, "lists": len(doc.lists) if doc else 0,
           "references_found": len(doc.references) if doc else 0, "outcome": outcome, "extracted_at": io.now()}
    state = ledger.FAILED if error else ledger.DONE
    entry = ledger.Entry(io.DOMAIN, doc_id, io.LISTS, state, batch_id, error=error, label=source,
                         attempts_delta=1, detail={"outcome": outcome, "lists": row["lists"],
                                                   "references": row["references_found"], "depth": depth})
    return row, entry


def _reference_rows(batch_id: str, doc_id: str, source: str, depth: int, doc: DocumentReferences):
    lists = [{"doc_id": doc_id, "list_index": i, "batch_id": batch_id, "heading": lst.heading, "pages": lst.pages,
              "style": lst.style, "references_found": lst.references} for i, lst in enumerate(doc.lists)]
    refs, entries, seen = [], [], Counter()
    for ref in doc.references:
        key = " ".join(ref.text.split()).casefold()
        ref_id = reference_id(doc_id, ref.text, seen[key])
        seen[key] += 1
        values = ref.fields.as_dict()
        refs.append({"ref_id": ref_id, "doc_id": doc_id, "batch_id": batch_id, "list_index": ref.list_index,
                     "ordinal": ref.ordinal, "number": ref.number, "page": ref.page, "text": ref.text,
                     **{k: values[k] for k in FIELDS}, "parser": ref.parser, "depth": depth})
        entries.append(ledger.Entry(io.DOMAIN, ref_id, io.EXTRACT, ledger.DONE, batch_id,
                                    label=f"{source} p.{ref.page}: {ref.text[:60]}",
                                    detail={"doc_id": doc_id, "page": ref.page, "parser": ref.parser}))
    return lists, refs, entries


def extract_batch(warehouse, batch_id: str, log: Callable[[str], None] = lambda m: None,
                  progress: Progress | None = None) -> ExtractReport:
    started = time.monotonic()
    report = ExtractReport()
    documents = io.batch_documents(warehouse, batch_id)
    depth_of = io.depths(warehouse, [d for d, _, _ in documents])
    doc_rows, list_rows, ref_rows, entries = [], [], [], []
    if progress:
        progress.queued("extract", len(documents))
    for doc_id, source, pages in documents:
        if progress:
            progress.started_item("extract")
        doc, error = None, None
        try:
            doc = extract(pages)
        except Exception as exc:  # one unreadable document must not sink the batch
            error = f"extraction failed: {type(exc).__name__}: {exc}"
            log(f"{source}: {error}")
        row, entry = _document_rows(batch_id, doc_id, source, pages, depth_of.get(doc_id, 0), doc, error)
        doc_rows.append(row)
        entries.append(entry)
        report.documents += 1
        report.pages += len(pages)
        report.failed += bool(error)
        if doc is not None:
            lists, refs, ref_entries = _reference_rows(batch_id, doc_id, source, depth_of.get(doc_id, 0), doc)
            list_rows += lists
            ref_rows += refs
            entries += ref_entries
            report.with_lists += bool(doc.lists)
            report.without_list += not doc.lists
            report.references += len(refs)
            report.styles.update(lst.style for lst in doc.lists)
        if progress:
            progress.finished("extract", row["outcome"], error)
    io.save_extraction(warehouse, batch_id, pd.DataFrame(doc_rows), pd.DataFrame(list_rows),
                       _frame(ref_rows), entries)
    report.seconds = time.monotonic() - started
    return report


def _frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for column in ("year", "number", "page"):
        if column in frame:
            frame[column] = frame[column].astype("Int64")
    return frame


# -- enrichment ---------------------------------------------------------------------------------------
@dataclass
class EnrichReport:
    references: int = 0
    outcomes: Counter = field(default_factory=Counter)
    services: Counter = field(default_factory=Counter)  # which service answered the matches
    reasons: Counter = field(default_factory=Counter)  # why references wait or failed
    retry_in: float | None = None
    seconds: float = 0.0


def _inputs(frame: pd.DataFrame) -> list[RefInput]:
    refs = []
    for row in frame.to_dict("records"):
        fields = {k: (None if _missing(row.get(k)) else row.get(k)) for k in FIELDS}
        fields["authors"] = list(fields["authors"]) if fields["authors"] is not None else []
        refs.append(RefInput(row["ref_id"], row["text"], fields))
    return refs


def _missing(value) -> bool:
    try:
        return value is None or bool(pd.isna(value))
    except (TypeError, ValueError):  # arrays
        return False


def outcome_row(ref: RefInput, doc_id: str, batch_id: str, outcome: Outcome) -> dict:
    match = outcome.match
    best = outcome.best
    return {"ref_id": ref.ref_id, "doc_id": doc_id, "batch_id": batch_id, "status": outcome.status,
            "method": outcome.method, "service": match.service if match else None,
            "score": outcome.score.total if outcome.score else None,
            "doi": match.doi if match else None, "openalex_id": match.openalex_id if match else None,
            "title": match.title if match else None, "authors": match.authors if match else None,
            "year": match.year if match else None, "venue": match.venue if match else None,
            "is_oa": match.is_oa if match else None, "oa_status": match.oa_status if match else None,
            "pdf_url": match.pdf_url if match else None,
            "best_candidate": io.as_json(best.as_dict()) if best and not match else None,
            "reason": outcome.reason, "asked": io.as_json(outcome.asked), "enriched_at": io.now()}


def outcome_entry(ref: RefInput, batch_id: str, outcome: Outcome) -> ledger.Entry:
    detail = {"status": outcome.status, "service": outcome.answered_by, "method": outcome.method,
              "score": outcome.score.total if outcome.score else None,
              "doi": outcome.match.doi if outcome.match else None}
    label = ref.text[:80]
    if outcome.status in (MATCHED, UNMATCHED):
        return ledger.Entry(io.DOMAIN, ref.ref_id, io.ENRICH, ledger.DONE, batch_id, label=label, detail=detail)
    if outcome.status == WAITING:
        retry_at = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=outcome.retry_in or 60)
        detail["retry_at"] = retry_at.isoformat()
        return ledger.Entry(io.DOMAIN, ref.ref_id, io.ENRICH, ledger.PENDING, batch_id, error=outcome.reason,
                            label=label, detail=detail)
    return ledger.Entry(io.DOMAIN, ref.ref_id, io.ENRICH, ledger.FAILED, batch_id, error=outcome.reason,
                        label=label, detail=detail, attempts_delta=1)


class _Writer:
    """Saves outcomes as they come, in small transactions: a killed run keeps what it finished."""

    def __init__(self, warehouse, batch_id: str, docs: dict[str, str], refs: dict[str, RefInput],
                 every: int = 50, seconds: float = 10.0):
        self.warehouse, self.batch_id, self.docs, self.refs = warehouse, batch_id, docs, refs
        self.every, self.seconds = every, seconds
        self.rows: list[dict] = []
        self.entries: list[ledger.Entry] = []
        self.lock = threading.Lock()
        self.last = time.monotonic()

    def add(self, outcome: Outcome) -> None:
        ref = self.refs[outcome.ref_id]
        with self.lock:
            self.rows.append(outcome_row(ref, self.docs[ref.ref_id], self.batch_id, outcome))
            self.entries.append(outcome_entry(ref, self.batch_id, outcome))
            due = len(self.rows) >= self.every or time.monotonic() - self.last > self.seconds
        if due:
            self.flush()

    def flush(self) -> None:
        with self.lock:
            rows, entries, self.rows, self.entries = self.rows, self.entries, [], []
            self.last = time.monotonic()
            if rows:
                # a reference retried in a later round appears twice: its last outcome is the one
                frame = pd.DataFrame(rows).drop_duplicates("ref_id", keep="last")
                frame["year"] = frame["year"].astype("Int64")
                io.save_enrichment(self.warehouse, frame, entries)


def enrich_batch(warehouse, batch_id: str, enricher: Enricher, *, workers: int = 8, wait_seconds: float = 120.0,
                 progress: Progress | None = None, stop: threading.Event | None = None) -> EnrichReport:
    started = time.monotonic()
    frame = io.references_to_enrich(warehouse, batch_id)
    refs = _inputs(frame)
    report = EnrichReport(references=len(refs))
    writer = _Writer(warehouse, batch_id, dict(zip(frame["ref_id"], frame["doc_id"])) if len(frame) else {},
                     {r.ref_id: r for r in refs})
    final = enrich_all(enricher, refs, workers=workers, deadline_seconds=wait_seconds, progress=progress,
                       on_outcome=writer.add, stop=stop)
    writer.flush()
    for outcome in final.values():
        report.outcomes[outcome.status] += 1
        if outcome.answered_by:
            report.services[outcome.answered_by] += 1
        if outcome.status in (WAITING, FAILED):
            report.reasons[outcome.reason.split(";")[0][:100]] += 1
    waits = [o.retry_in for o in final.values() if o.status == WAITING and o.retry_in]
    report.retry_in = min(waits) if waits else None
    report.seconds = time.monotonic() - started
    return report
