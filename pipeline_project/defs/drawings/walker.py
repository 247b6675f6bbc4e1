"""Walking one comparison page by page: extract → sheet name → diff → summary, each page committed
the moment it is done (PNG files atomically, its warehouse rows and its ledger rows in one
transaction), so the first overlay is there long before the last page is.

Every (page, stage) is an item in the ledger (domain "drawings", partition = the comparison):
`start` counts an attempt, a failure is retried at once, and the fifth failed attempt makes it a
dead letter with its error — that page stops, the others go on. A re-run skips stages already done,
so a killed run resumes where it stopped. `order="stage_by_stage"` (every page extracted, then every
page diffed, then summarised) exists to measure what streaming buys; the product uses "streaming".
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from pipeline_project.defs.drawings import render, tables
from pipeline_project.defs.drawings.plan import PlanEntry, make_plan
from pipeline_project.defs.drawings.submissions import DOMAIN, SIDES, job_folder
from pipeline_project.lib import ledger
from pipeline_project.lib.quarantine import PIPELINE, USER, quarantine_file
from pipeline_project.lib.settings import env_str
from pipeline_project.lib.warehouse import connect

STAGES = ("pages", "sheet_names", "matching", "diff", "summary")
WALKED = ("pages", "diff", "summary")  # sheet names and matching are done for the whole set in the plan
STREAMING, STAGE_BY_STAGE = "streaming", "stage_by_stage"


def page_png(root: Path, job_id: str, side: str, page: int) -> Path:
    return job_folder(root, job_id) / "pages" / side / f"page_{page:03d}.png"


def overlay_png(root: Path, job_id: str, page_number: int) -> Path:
    return job_folder(root, job_id) / "overlays" / f"page_{page_number:03d}.png"


def item_id(job_id: str, page_number: int) -> str:
    return f"{job_id}/p{page_number:03d}"


def diff_result_id(job_id: str, page_number: int) -> str:
    return f"diff-{job_id}-{page_number:03d}"


def summary_id(job_id: str, page_number: int) -> str:
    return f"sum-{job_id}-{page_number:03d}"


@dataclass
class WalkReport:
    job_id: str
    status: str = "pending"
    error: str | None = None
    total_pages: int = 0
    done: int = 0  # pages with every stage done (this run or before)
    skipped: int = 0  # pages already done before this run
    dead_letters: int = 0
    quarantined: int = 0
    changed_pages: int = 0
    changes: int = 0
    commits: list[tuple[int, str, float]] = field(default_factory=list)  # (page, stage, seconds since start)


class Walker:
    def __init__(self, root: Path, warehouse, job_id: str, summarizer, *, order: str | None = None,
                 dpi: int | None = None, max_attempts: int = ledger.DEFAULT_MAX_ATTEMPTS,
                 log: Callable[[str], None] = lambda m: None):
        if order not in (None, STREAMING, STAGE_BY_STAGE):
            raise ValueError(f"order must be {STREAMING!r} or {STAGE_BY_STAGE!r}")
        self.root, self.warehouse, self.job_id = Path(root), warehouse, job_id
        self.summarizer, self.order, self.log = summarizer, order, log
        self.dpi = dpi or render.extraction_dpi()
        self.max_attempts = max_attempts
        self.report = WalkReport(job_id)
        self._t0 = time.monotonic()
        self._renders: dict[tuple[str, int], render.Rendered] = {}
        self._started: set[tuple[str, str]] = set()  # (item, stage) whose attempt a previous commit began
        self._diff_rows: dict[int, dict] = {}
        self._word_cache: dict[tuple[str, int, int], list | None] = {}

    # ------------------------------------------------------------------------------------ run
    def run(self) -> WalkReport:
        tables.ensure_tables(self.warehouse)
        with connect(self.warehouse) as conn:
            comp = tables.comparison(conn, self.job_id)
        if comp is None:
            raise KeyError(f"no drawing comparison {self.job_id!r} was submitted")
        self.order = self.order or comp.get("page_order") or env_str("DRAWINGS_PAGE_ORDER", STREAMING)
        if self.order not in (STREAMING, STAGE_BY_STAGE):
            self.order = STREAMING
        if comp["status"] == "failed" and comp["error"] and comp["total_pages"] is None:
            return self._already_rejected(comp)  # bad input: nothing a re-run could change
        self._set_status("in_progress")
        self._remove_stale_temp_files()
        try:
            docs = {side: render.open_set(Path(comp[f"{side}_file"]), comp[f"{side}_label"] or f"{side}.pdf")
                    for side in SIDES}
        except render.BadDrawingSet as exc:
            return self._reject(comp, str(exc))
        try:
            plan = self._ensure_plan(docs)
            self.report.total_pages = len(plan)
            states = self._states()
            if self.order == STREAMING:
                for i, entry in enumerate(plan):
                    self._walk(entry, docs, WALKED, states, plan[i + 1] if i + 1 < len(plan) else None)
                    self._renders.clear()
                    self._word_cache.clear()
            else:
                for stage in WALKED:
                    for entry in plan:
                        self._walk(entry, docs, (stage,), states)
            return self._finish(plan)
        finally:
            for doc in docs.values():
                doc.close()

    def _remove_stale_temp_files(self) -> None:
        """Half-written PNGs of a killed run (atomic writes leave only hidden .tmp files behind)."""
        folder = job_folder(self.root, self.job_id)
        for sub in ("pages/old", "pages/new", "overlays"):
            for tmp in (folder / sub).glob(".*.tmp"):
                tmp.unlink(missing_ok=True)

    # ------------------------------------------------------------------------------------ plan
    def _ensure_plan(self, docs) -> list[PlanEntry]:
        with connect(self.warehouse) as conn:
            stored = tables.pages(conn, self.job_id)
        if stored:
            return [PlanEntry.from_row(r) for r in stored]
        plan = make_plan(docs["old"], docs["new"], self.log)
        entries = []
        for e in plan:
            label = f"{e.drawing_name} (page {e.page_number})"
            entries += [
                self._entry(e, "sheet_names", ledger.DONE, label=label, detail={"old": e.old_sheet, "new": e.new_sheet,
                                                                                "source": e.sheet_source}),
                self._entry(e, "matching", ledger.DONE, label=label, detail={
                    "old_page": e.old_page, "new_page": e.new_page, "change_type": e.change_type,
                    "method": e.match_method, "similarity": e.similarity}),
            ] + [self._entry(e, s, ledger.PENDING, label=label) for s in WALKED]
        with connect(self.warehouse) as conn:
            conn.execute("BEGIN TRANSACTION")
            for e in plan:
                tables.upsert_page(conn, e.as_row(self.job_id))
            tables.set_page_counts(conn, self.job_id, docs["old"].page_count, docs["new"].page_count, len(plan))
            ledger.upsert(conn, entries, self.max_attempts)
            conn.execute("COMMIT")
        self.log(f"{self.job_id}: {len(plan)} pages to compare "
                 f"({sum(e.change_type == 'added' for e in plan)} added, {sum(e.change_type == 'removed' for e in plan)} removed)")
        return plan

    def _entry(self, e: PlanEntry, stage: str, state: str, **kw) -> ledger.Entry:
        return ledger.Entry(DOMAIN, item_id(self.job_id, e.page_number), stage, state, self.job_id, **kw)

    def _states(self) -> dict[tuple[str, str], str]:
        with connect(self.warehouse) as conn:
            rows = ledger.select(conn, domain=DOMAIN, partition_key=self.job_id)
        return {(r.item_id, r.stage): r.state for r in rows}

    # ------------------------------------------------------------------------------------ one page
    def _todo(self, e: PlanEntry, stages, states) -> list[str]:
        key = item_id(self.job_id, e.page_number)
        return [s for s in stages if states.get((key, s)) != ledger.DONE]

    def _walk(self, e: PlanEntry, docs, stages, states, following: PlanEntry | None = None) -> None:
        key = item_id(self.job_id, e.page_number)
        if all(states.get((key, s)) == ledger.DONE for s in WALKED):
            if stages[0] == WALKED[0]:
                self.report.skipped += 1
            return
        todo = self._todo(e, stages, states)
        following_todo = self._todo(following, stages, states) if following is not None else []
        for i, stage in enumerate(todo):
            if i + 1 < len(todo):
                then = (e, todo[i + 1])
            elif following_todo and states.get((item_id(self.job_id, following.page_number),
                                                following_todo[0])) != ledger.DEAD_LETTER:
                then = (following, following_todo[0])  # the next page starts as this one ends
            else:
                then = None
            if not self._attempts(e, stage, docs, states, then):
                return  # a dead letter: later stages of this page wait for `pipeline-project retry`

    def _then(self, then: tuple[PlanEntry, str] | None) -> list[ledger.Entry]:
        """The next stage's start, written in the same transaction as this stage's result (one
        warehouse connection per stage instead of two)."""
        if then is None:
            return []
        entry, stage = then
        self._started.add((item_id(self.job_id, entry.page_number), stage))
        return [self._entry(entry, stage, ledger.IN_PROGRESS, attempts_delta=1)]

    def _attempts(self, e: PlanEntry, stage: str, docs, states, then=None) -> bool:
        key = item_id(self.job_id, e.page_number)
        if states.get((key, stage)) == ledger.DEAD_LETTER:
            return False
        work = {"pages": self._extract, "diff": self._diff, "summary": self._summary}[stage]
        while True:
            if (key, stage) in self._started:
                self._started.discard((key, stage))
            else:
                with connect(self.warehouse) as conn:
                    ledger.upsert(conn, [self._entry(e, stage, ledger.IN_PROGRESS, attempts_delta=1)],
                                  self.max_attempts)
            try:
                work(e, docs, then)
            except Exception as exc:  # any failure of this page's stage: retried, then a dead letter
                reason = f"{type(exc).__name__}: {exc}"[:2000]
                self.log(f"{self.job_id} page {e.page_number} {stage} failed: {reason}")
                with connect(self.warehouse) as conn:
                    ledger.upsert(conn, [self._entry(e, stage, ledger.FAILED, error=reason)], self.max_attempts)
                    (row,) = ledger.select(conn, domain=DOMAIN, item_ids=[key], stage=stage)
                if row.state == ledger.DEAD_LETTER:
                    states[(key, stage)] = ledger.DEAD_LETTER
                    return False
                continue
            states[(key, stage)] = ledger.DONE
            self.report.commits.append((e.page_number, stage, round(time.monotonic() - self._t0, 3)))
            return True

    def _rendered(self, side: str, page: int, docs) -> render.Rendered:
        cached = self._renders.get((side, page))
        if cached is not None:
            return cached
        path = page_png(self.root, self.job_id, side, page)
        if path.exists():
            image = render.read_png(path)
            dpi = round(image.shape[1] / docs[side].load_page(page - 1).rect.width * 72)
            return render.Rendered(image, dpi)
        raise FileNotFoundError(f"{side} page {page} was not extracted")

    def _extract(self, e: PlanEntry, docs, then=None) -> None:
        from concurrent.futures import ThreadPoolExecutor

        rendered = {(side, page): render.render_page(docs[side], page - 1, self.dpi)
                    for side, page in (("old", e.old_page), ("new", e.new_page)) if page is not None}
        # PNG encoding releases the GIL: both pages at once, one per core
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(lambda item: render.write_png(page_png(self.root, self.job_id, *item[0]), item[1].rgb),
                          rendered.items()))
        if self.order == STREAMING:
            self._renders.update(rendered)
        with connect(self.warehouse) as conn:
            ledger.upsert(conn, [self._entry(e, "pages", ledger.DONE, detail={"dpi": self.dpi})] + self._then(then),
                          self.max_attempts)

    def _words(self, docs, side: str, page: int, width_px: int):
        """The page's text-layer words in its pixels; None for a page without a text layer."""
        from pipeline_project.defs.drawings.sheets import MIN_TEXT_CHARS

        key = (side, page, width_px)
        if key not in self._word_cache:
            pdf_page = docs[side].load_page(page - 1)
            self._word_cache[key] = (None if render.text_chars(pdf_page) < MIN_TEXT_CHARS
                                     else render.page_words(pdf_page, width_px / pdf_page.rect.width))
        return self._word_cache[key]

    def _diff(self, e: PlanEntry, docs, then=None) -> None:
        from pipeline_project.defs.drawings import diff
        from pipeline_project.defs.drawings.overlay import overlay_image

        if e.change_type == "compared":
            old, new = self._rendered("old", e.old_page, docs), self._rendered("new", e.new_page, docs)
            old_words = self._words(docs, "old", e.old_page, old.rgb.shape[1])
            new_words = self._words(docs, "new", e.new_page, new.rgb.shape[1])
            result = diff.compare_pages(old.gray, new.gray, diff.DiffSettings(dpi=old.dpi), old_words=old_words,
                                        new_words=new_words, scanned=old_words is None or new_words is None)
            base, dpi = old.gray, old.dpi
        else:
            side, page = ("new", e.new_page) if e.change_type == "added" else ("old", e.old_page)
            only = self._rendered(side, page, docs)
            result = diff.whole_page_change(only.gray, added=e.change_type == "added")
            base, dpi = only.gray, only.dpi
        path = render.write_png(overlay_png(self.root, self.job_id, e.page_number), overlay_image(base, result))
        row = {"diff_result_id": diff_result_id(self.job_id, e.page_number), "job_id": self.job_id,
               "page_number": e.page_number, "drawing_name": e.drawing_name, "overlay_path": str(path),
               "changes_detected": result.changes_detected, "change_count": result.change_count,
               "boxes": [r.as_dict() for r in result.regions], "registration": result.registration.as_dict(),
               "width": int(base.shape[1]), "height": int(base.shape[0]), "dpi": dpi,
               "tolerance_px": result.tolerance_px, "created_at": tables.now()}
        with connect(self.warehouse) as conn:
            conn.execute("BEGIN TRANSACTION")
            tables.upsert_diff(conn, row)
            ledger.upsert(conn, [self._entry(e, "diff", ledger.DONE, detail={
                "change_count": result.change_count, "diff_result_id": row["diff_result_id"]})] + self._then(then),
                self.max_attempts)
            conn.execute("COMMIT")
        self._diff_rows[e.page_number] = {**row, "boxes": json.dumps(row["boxes"]),
                                          "registration": json.dumps(row["registration"])}

    def _summary(self, e: PlanEntry, docs, then=None) -> None:
        from pipeline_project.defs.drawings.facts import page_facts

        stored = self._diff_rows.pop(e.page_number, None)
        if stored is None:  # diffed in an earlier run
            with connect(self.warehouse) as conn:
                stored = tables.diffs(conn, self.job_id).get(e.page_number)
        if stored is None:
            raise RuntimeError("no diff stored for this page")
        regions, registration = json.loads(stored["boxes"]), json.loads(stored["registration"])
        kwargs = {}
        if e.change_type == "compared" and regions:
            old, new = self._rendered("old", e.old_page, docs), self._rendered("new", e.new_page, docs)
            kwargs = {"matrix": np.array(registration["matrix"]), "tolerance_px": stored["tolerance_px"] or 1,
                      "old_words": self._words(docs, "old", e.old_page, old.rgb.shape[1]),
                      "new_words": self._words(docs, "new", e.new_page, new.rgb.shape[1])}
            if kwargs["old_words"] is None or kwargs["new_words"] is None:  # read the regions with OCR
                kwargs.update(old_gray=old.gray, new_gray=new.gray)
        facts = page_facts(e.drawing_name, e.change_type, regions, (stored["height"], stored["width"]), **kwargs)
        summary = self.summarizer.summarize(facts)
        row = {"summary_id": summary_id(self.job_id, e.page_number), "job_id": self.job_id,
               "page_number": e.page_number, "headline": summary.headline, "summary_text": summary.text,
               "summarizer": summary.summarizer, "facts": facts.as_dict(), "created_at": tables.now()}
        with connect(self.warehouse) as conn:
            conn.execute("BEGIN TRANSACTION")
            tables.upsert_summary(conn, row)
            ledger.upsert(conn, [self._entry(e, "summary", ledger.DONE, detail={"headline": summary.headline})]
                          + self._then(then), self.max_attempts)
            conn.execute("COMMIT")

    # ------------------------------------------------------------------------------------ endings
    def _set_status(self, status: str, error: str | None = None) -> None:
        with connect(self.warehouse) as conn:
            tables.set_status(conn, self.job_id, status, error)
        self.report.status, self.report.error = status, error

    def _finish(self, plan: list[PlanEntry]) -> WalkReport:
        states = self._states()
        keys = [item_id(self.job_id, e.page_number) for e in plan]
        self.report.done = sum(all(states.get((k, s)) == ledger.DONE for s in WALKED) for k in keys)
        self.report.dead_letters = sum(any(states.get((k, s)) == ledger.DEAD_LETTER for s in WALKED) for k in keys)
        with connect(self.warehouse) as conn:
            found = tables.diffs(conn, self.job_id)
        self.report.changed_pages = sum(bool(r["changes_detected"]) for r in found.values())
        self.report.changes = sum(int(r["change_count"] or 0) for r in found.values())
        if self.report.dead_letters:
            self._set_status("failed", f"{self.report.dead_letters} of {len(plan)} pages failed 5 times and are in "
                                       "the dead letters (`pipeline-project status`); the other pages are complete")
        elif self.report.done == len(plan):
            self._set_status("completed")
        return self.report

    def _reject(self, comp: dict, reason: str) -> WalkReport:
        """Bad input: both files of the pair go to quarantine with the reason; the comparison fails."""
        self.log(f"{self.job_id}: {reason}")
        entries = []
        for side in SIDES:
            user_copy = comp.get(f"{side}_source") if comp.get("owner") == USER else None
            if user_copy and Path(user_copy).exists():
                source, owner = Path(user_copy), USER  # the user's own file: copied, left where it is
            else:
                source, owner = Path(comp[f"{side}_file"]), PIPELINE
            q = quarantine_file(source, root=self.root, domain=DOMAIN, group=self.job_id, name=f"{side}.pdf",
                                reason=f"comparison {self.job_id} cannot run: {reason}", owner=owner,
                                item_id=f"{self.job_id}/{side}")
            if owner == USER:
                Path(comp[f"{side}_file"]).unlink(missing_ok=True)
            entries.append(ledger.Entry(DOMAIN, f"{self.job_id}/{side}", "pages", ledger.DEAD_LETTER, self.job_id,
                                        error=reason, label=comp.get(f"{side}_label"), quarantine_path=str(q.path)))
            self.report.quarantined += 1
        with connect(self.warehouse) as conn:
            conn.execute("BEGIN TRANSACTION")
            ledger.upsert(conn, entries, self.max_attempts)
            tables.set_status(conn, self.job_id, "failed", reason)
            conn.execute("COMMIT")
        self.report.status, self.report.error = "failed", reason
        self.report.dead_letters = len(entries)
        return self.report

    def _already_rejected(self, comp: dict) -> WalkReport:
        self.report.status, self.report.error = "failed", comp["error"]
        with connect(self.warehouse) as conn:
            rows = ledger.select(conn, domain=DOMAIN, partition_key=self.job_id, states=[ledger.DEAD_LETTER])
        self.report.dead_letters = self.report.quarantined = sum(r.quarantine_path is not None for r in rows)
        return self.report
