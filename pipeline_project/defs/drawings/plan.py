"""A comparison's page list: sheet names of every page of both revisions, then the matching.

Sheet ids come first for the whole set because matching needs them all; they are cheap from a text
layer (milliseconds a page) and cost one title-block OCR (~0.3 s) for a page without one. Thumbnails
for visual matching are rendered at 10 dpi. The plan is stored (drawing_pages) the first time, so a
re-run walks the very same page list.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Callable

from pipeline_project.defs.drawings import matching, sheets

if TYPE_CHECKING:
    import pymupdf


@dataclass
class PlanEntry:
    page_number: int  # 1-based position in the comparison
    old_page: int | None  # 1-based page in old.pdf (None: sheet added)
    new_page: int | None  # 1-based page in new.pdf (None: sheet removed)
    change_type: str  # compared | added | removed
    match_method: str
    similarity: float | None
    drawing_name: str
    old_sheet: str | None
    new_sheet: str | None
    sheet_source: str  # text | ocr | none (for the page shown)

    def as_row(self, job_id: str) -> dict:
        return {"job_id": job_id, **asdict(self)}

    @classmethod
    def from_row(cls, row: dict) -> "PlanEntry":
        return cls(**{k: row[k] for k in cls.__dataclass_fields__})


def _names(doc: pymupdf.Document, log: Callable[[str], None]) -> list[sheets.SheetName]:
    """Text layers first; the pages without one are read by OCR together (in parallel)."""
    out: list[sheets.SheetName | None] = [sheets.text_layer_name(page) for page in doc]
    need_ocr = [i for i, name in enumerate(out) if name is None]
    if need_ocr:
        try:
            for i, name in zip(need_ocr, sheets.ocr_sheet_names([doc[i] for i in need_ocr])):
                out[i] = name
        except Exception as exc:  # OCR missing or failing must not stop the comparison
            log(f"sheet names by OCR: {exc}")
    return [name or sheets.SheetName(None, None, "none") for name in out]


def _index(doc: pymupdf.Document, names: list[sheets.SheetName]) -> list[matching.PageIndex]:
    return [matching.PageIndex(i, names[i].key, matching.thumbnail(page)) for i, page in enumerate(doc)]


def make_plan(old_doc: pymupdf.Document, new_doc: pymupdf.Document,
              log: Callable[[str], None] = lambda m: None) -> list[PlanEntry]:
    old_names, new_names = _names(old_doc, log), _names(new_doc, log)
    matches = matching.match_pages(_index(old_doc, old_names), _index(new_doc, new_names))
    plan = []
    for position, m in enumerate(matches, start=1):
        old_name = old_names[m.old] if m.old is not None else None
        new_name = new_names[m.new] if m.new is not None else None
        shown = new_name if new_name is not None and new_name.name else old_name
        fallback = f"new p.{m.new + 1}" if m.new is not None else f"old p.{m.old + 1}"
        plan.append(PlanEntry(
            page_number=position,
            old_page=None if m.old is None else m.old + 1,
            new_page=None if m.new is None else m.new + 1,
            change_type=m.change_type, match_method=m.method, similarity=m.similarity,
            drawing_name=(shown.name if shown and shown.name else fallback),
            old_sheet=old_name.name if old_name else None, new_sheet=new_name.name if new_name else None,
            sheet_source=shown.source if shown else "none"))
    return plan
