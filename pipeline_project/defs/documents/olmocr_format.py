"""Records in olmOCR's output format (one JSON line per document).

Fields follow olmOCR 0.4's JSONL: id (sha1 of text), text (pages joined by newlines), source, added,
created, metadata {Source-File, olmocr-version, pdf-total-pages, ...}, attributes {pdf_page_numbers:
[[start_char, end_char, page], ...], ...}. We add `metadata.doc_id` (our sha256 content id) and
`attributes.page_methods` (text_layer | ocr | empty per page) so the warehouse can say how each page
was read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from pipeline_project.lib.atomic import atomic_path
from pipeline_project.lib.text import storable

PAGE_TEXT_LAYER = "text_layer"
PAGE_OCR = "ocr"
PAGE_EMPTY = "empty"


@dataclass
class PageText:
    page: int  # 1-based, as olmOCR numbers pages
    text: str
    method: str  # PAGE_TEXT_LAYER | PAGE_OCR | PAGE_EMPTY


@dataclass
class DocumentText:
    doc_id: str
    source_file: str
    pages: list[PageText] = field(default_factory=list)


def clean_text(text: str) -> str:
    """Text as every later stage can store it (see pipeline_project/text.py)."""
    return storable(text)


def build_record(doc: DocumentText, *, source: str, engine_version: str) -> dict:
    """One olmOCR-style JSONL record for a document."""
    doc = DocumentText(doc.doc_id, doc.source_file,
                       [PageText(p.page, clean_text(p.text), p.method) for p in doc.pages])
    parts: list[str] = []
    spans: list[list[int]] = []
    cursor = 0
    for i, page in enumerate(doc.pages):
        if i:
            parts.append("\n")
            cursor += 1
        parts.append(page.text)
        spans.append([cursor, cursor + len(page.text), page.page])
        cursor += len(page.text)
    text = "".join(parts)
    now = dt.datetime.now(dt.timezone.utc).isoformat()
    return {
        "id": hashlib.sha1(text.encode("utf-8")).hexdigest(),
        "text": text,
        "source": source,
        "added": now[:10],
        "created": now[:10],
        "metadata": {
            "Source-File": doc.source_file,
            "olmocr-version": engine_version,
            "pdf-total-pages": len(doc.pages),
            "total-input-tokens": 0,
            "total-output-tokens": 0,
            "total-fallback-pages": 0,
            "doc_id": doc.doc_id,
        },
        "attributes": {
            "pdf_page_numbers": spans,
            "page_methods": [p.method for p in doc.pages],
        },
    }


def pages_from_record(record: dict) -> list[PageText]:
    """Split a record's text back into pages using its pdf_page_numbers spans."""
    text = record.get("text") or ""
    attrs = record.get("attributes") or {}
    spans = attrs.get("pdf_page_numbers") or []
    methods = attrs.get("page_methods") or []
    pages = []
    for i, (start, end, page_no) in enumerate(spans):
        page_text = text[start:end]
        method = methods[i] if i < len(methods) else (PAGE_OCR if page_text.strip() else PAGE_EMPTY)
        pages.append(PageText(page=int(page_no), text=page_text, method=method))
    return pages


def doc_id_of(record: dict) -> str:
    """Our content id for the record's PDF; olmOCR's own output lacks it, so fall back to its id."""
    meta = record.get("metadata") or {}
    return meta.get("doc_id") or record["id"]


def write_jsonl(records: list[dict], path: Path) -> None:
    """One record per line, atomically (the batch's ocr_jsonl)."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
