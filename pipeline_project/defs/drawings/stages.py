"""The work of one page at each walked stage: pages (extract), diff, summary.

Each stage function computes, writes its files (PNGs, atomically) and returns a `StageResult`: the
warehouse write that records it (run by the walk's Committer in the same transaction as the stage's
ledger row) and what the next stage needs. Retrying, the ledger and the order of pages are the
walk's business (walker.py).

`PageInput` is what a page's diff and summary read: both revisions' pictures (in memory when this
run extracted them, else read back from the PNGs) and their text-layer words, in the pictures' pixels.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from pipeline_project.defs.drawings import render, tables
from pipeline_project.defs.drawings.plan import PlanEntry
from pipeline_project.defs.drawings.submissions import job_folder

SIDES_OF = {"compared": ("old", "new"), "added": ("new",), "removed": ("old",)}


def page_png(root: Path, job_id: str, side: str, page: int) -> Path:
    return job_folder(root, job_id) / "pages" / side / f"page_{page:03d}.png"


def overlay_png(root: Path, job_id: str, page_number: int) -> Path:
    return job_folder(root, job_id) / "overlays" / f"page_{page_number:03d}.png"


def diff_result_id(job_id: str, page_number: int) -> str:
    return f"diff-{job_id}-{page_number:03d}"


def summary_id(job_id: str, page_number: int) -> str:
    return f"sum-{job_id}-{page_number:03d}"


@dataclass
class StageResult:
    write: Callable[[Any], None] | None = None  # records the stage's rows (a function of a connection)
    detail: dict | None = None  # the ledger row's detail
    value: Any = None  # what the next stage of this page needs


@dataclass
class Side:
    gray: np.ndarray  # the page as displayed, grey
    dpi: int
    words: list[render.Word] | None  # text-layer words in the picture's pixels; None: no text layer


@dataclass
class PageInput:
    sides: dict[str, Side] = field(default_factory=dict)  # "old" / "new": the sides this page has


class PageStages:
    """One comparison's stage work. PDF access goes through one lock: PyMuPDF is not thread-safe."""

    def __init__(self, root: Path, job_id: str, docs: dict, summarizer, dpi: int):
        self.root, self.job_id, self.docs, self.summarizer, self.dpi = Path(root), job_id, docs, summarizer, dpi
        self.pdf_lock = threading.Lock()
        self._diff_rows: dict[int, dict] = {}  # a page's stored diff, for its summary

    # ------------------------------------------------------------------------------ inputs
    def _words(self, side: str, page: int, width_px: int) -> list[render.Word] | None:
        from pipeline_project.defs.drawings.sheets import MIN_TEXT_CHARS

        pdf_page = self.docs[side].load_page(page - 1)
        if render.text_chars(pdf_page) < MIN_TEXT_CHARS:
            return None
        return render.page_words(pdf_page, width_px / pdf_page.rect.width)

    def _side(self, side: str, page: int, rendered: render.Rendered | None, with_words: bool) -> Side:
        if rendered is None:  # extracted by an earlier run: read back
            path = page_png(self.root, self.job_id, side, page)
            if not path.exists():
                raise FileNotFoundError(f"{side} page {page} was not extracted")
            image = render.read_png(path)
            with self.pdf_lock:
                dpi = round(image.shape[1] / self.docs[side].load_page(page - 1).rect.width * 72)
            rendered = render.Rendered(image, dpi)
        gray = rendered.gray
        with self.pdf_lock:
            words = self._words(side, page, gray.shape[1]) if with_words else None
        return Side(gray, rendered.dpi, words)

    def page_input(self, e: PlanEntry, rendered: dict[str, render.Rendered] | None = None) -> PageInput:
        """Both sides' pictures and words (from `rendered`, else read back from the stored PNGs)."""
        rendered = rendered or {}
        pages = {"old": e.old_page, "new": e.new_page}
        compared = e.change_type == "compared"  # a sheet in one revision only is not read word by word
        return PageInput({side: self._side(side, pages[side], rendered.get(side), compared)
                          for side in SIDES_OF[e.change_type]})

    # ------------------------------------------------------------------------------ stages
    def extract(self, e: PlanEntry, keep: bool) -> StageResult:
        """Render both revisions' pages and write their PNGs; keep=True also returns the PageInput."""
        pages = {"old": e.old_page, "new": e.new_page}
        with self.pdf_lock:
            rendered = {side: render.render_page(self.docs[side], pages[side] - 1, self.dpi)
                        for side in SIDES_OF[e.change_type]}
        # PNG encoding releases the GIL: both pages at once
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(lambda side: render.write_png(page_png(self.root, self.job_id, side, pages[side]),
                                                        rendered[side].rgb), rendered))
        return StageResult(detail={"dpi": self.dpi}, value=self.page_input(e, rendered) if keep else None)

    def diff(self, e: PlanEntry, page: PageInput) -> StageResult:
        from pipeline_project.defs.drawings import diff
        from pipeline_project.defs.drawings.overlay import overlay_image

        if e.change_type == "compared":
            old, new = page.sides["old"], page.sides["new"]
            result = diff.compare_pages(old.gray, new.gray, diff.DiffSettings(dpi=old.dpi), old_words=old.words,
                                        new_words=new.words, scanned=old.words is None or new.words is None)
            base = old
        else:
            base = page.sides["new" if e.change_type == "added" else "old"]
            result = diff.whole_page_change(base.gray, added=e.change_type == "added")
        path = render.write_png(overlay_png(self.root, self.job_id, e.page_number), overlay_image(base.gray, result))
        row = {"diff_result_id": diff_result_id(self.job_id, e.page_number), "job_id": self.job_id,
               "page_number": e.page_number, "drawing_name": e.drawing_name, "overlay_path": str(path),
               "changes_detected": result.changes_detected, "change_count": result.change_count,
               "boxes": [r.as_dict() for r in result.regions], "registration": result.registration.as_dict(),
               "width": int(base.gray.shape[1]), "height": int(base.gray.shape[0]), "dpi": base.dpi,
               "tolerance_px": result.tolerance_px, "created_at": tables.now()}
        self._diff_rows[e.page_number] = {**row, "boxes": json.dumps(row["boxes"]),
                                          "registration": json.dumps(row["registration"])}
        return StageResult(lambda conn: tables.upsert_diff(conn, row),
                           {"change_count": result.change_count, "diff_result_id": row["diff_result_id"]})

    def stored_diff(self, e: PlanEntry, load: Callable[[], dict | None]) -> dict:
        stored = self._diff_rows.pop(e.page_number, None) or load()  # load: diffed in an earlier run
        if stored is None:
            raise RuntimeError("no diff stored for this page")
        return stored

    def summary(self, e: PlanEntry, page: PageInput | Callable[[], PageInput], stored: dict) -> StageResult:
        """page: the PageInput, or a function reading it (only called when the words are needed)."""
        from pipeline_project.defs.drawings.facts import page_facts

        regions, registration = json.loads(stored["boxes"]), json.loads(stored["registration"])
        kwargs: dict[str, Any] = {}
        if e.change_type == "compared" and regions:
            page = page() if callable(page) else page
            old, new = page.sides["old"], page.sides["new"]
            kwargs = {"matrix": np.array(registration["matrix"]), "tolerance_px": stored["tolerance_px"] or 1,
                      "old_words": old.words, "new_words": new.words}
            if old.words is None or new.words is None:  # read the regions with OCR
                kwargs.update(old_gray=old.gray, new_gray=new.gray)
        facts = page_facts(e.drawing_name, e.change_type, regions, (stored["height"], stored["width"]), **kwargs)
        summary = self.summarizer.summarize(facts)
        row = {"summary_id": summary_id(self.job_id, e.page_number), "job_id": self.job_id,
               "page_number": e.page_number, "headline": summary.headline, "summary_text": summary.text,
               "summarizer": summary.summarizer, "facts": facts.as_dict(), "created_at": tables.now()}
        return StageResult(lambda conn: tables.upsert_summary(conn, row), {"headline": summary.headline})
