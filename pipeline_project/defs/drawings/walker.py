"""Walking one comparison page by page: extract → sheet name → diff → summary, each page committed
stage by stage the moment a stage is done (PNG files atomically, the stage's warehouse rows and its
ledger row in one transaction), so the first overlay is there long before the last page is.

Every (page, stage) is an item in the ledger (domain "drawings", partition = the comparison):
a start counts an attempt, a failure is retried at once, and the fifth failed attempt makes it a
dead letter with its error — that page stops, the others go on. A re-run skips stages already done,
so a killed run resumes where it stopped.

In streaming order (the product's) the walk uses both cores: page N+1 is extracted on a second
thread while page N is diffed and summarised (ahead.py), and the warehouse writes are committed in
order by a background thread (commits.py) instead of being waited for. `order="stage_by_stage"`
(every page extracted, then every page diffed, then summarised, one page at a time) exists to measure
what streaming buys; the product uses "streaming".
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from pipeline_project.defs.drawings import render, tables
from pipeline_project.defs.drawings.ahead import PagesAhead
from pipeline_project.defs.drawings.commits import Committer
from pipeline_project.defs.drawings.plan import PlanEntry, make_plan
from pipeline_project.defs.drawings.stages import (  # noqa: F401 (where the routes and tests find them)
    PageInput, PageStages, diff_result_id, overlay_png, page_png, summary_id)
from pipeline_project.defs.drawings.submissions import DOMAIN, SIDES, job_folder
from pipeline_project.lib import ledger
from pipeline_project.lib.quarantine import PIPELINE, USER, quarantine_file
from pipeline_project.lib.settings import env_str
from pipeline_project.lib.warehouse import connect

STAGES = ("pages", "sheet_names", "matching", "diff", "summary")
WALKED = ("pages", "diff", "summary")  # sheet names and matching are done for the whole set in the plan
STREAMING, STAGE_BY_STAGE = "streaming", "stage_by_stage"
LOOKAHEAD_PAGES = 1  # pages extracted ahead of the page being compared (streaming)


def item_id(job_id: str, page_number: int) -> str:
    return f"{job_id}/p{page_number:03d}"


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
        self._commits: Committer | None = None
        self._stages: PageStages | None = None

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
            self._stages = PageStages(self.root, self.job_id, docs, self.summarizer, self.dpi)
            with Committer(self.warehouse, self._committed, self.max_attempts) as self._commits:
                if self.order == STREAMING:
                    self._stream(plan, states)
                else:
                    self._stage_by_stage(plan, states)
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

    # ------------------------------------------------------------------------------------ orders
    def _state(self, e: PlanEntry, stage: str, states) -> str | None:
        return states.get((item_id(self.job_id, e.page_number), stage))

    def _all_done(self, e: PlanEntry, states) -> bool:
        return all(self._state(e, s, states) == ledger.DONE for s in WALKED)

    def _ready_for(self, e: PlanEntry, stage: str, states) -> bool:
        """Not done yet, and every earlier stage of the page is (a dead letter stops its page)."""
        earlier = WALKED[:WALKED.index(stage)]
        return (self._state(e, stage, states) not in (ledger.DONE, ledger.DEAD_LETTER)
                and all(self._state(e, s, states) == ledger.DONE for s in earlier))

    def _stream(self, plan: list[PlanEntry], states) -> None:
        """Each page extract → diff → summary, the next page extracted meanwhile on a second thread."""
        todo = [e for e in plan if not self._all_done(e, states)]
        self.report.skipped = len(plan) - len(todo)
        # the first page has both cores to itself (the first overlay as soon as possible); then the
        # next page is extracted while this one is diffed and summarised
        with PagesAhead(lambda e: self._prepare(e, states), todo, LOOKAHEAD_PAGES, hold_first=True) as ahead:
            for e, page in ahead:
                if page is None:
                    ahead.widen()
                    continue  # its extraction is a dead letter: later stages wait for `pipeline-project retry`
                if self._ready_for(e, "diff", states):
                    self._attempts(e, "diff", states, lambda: self._stages.diff(e, page()))
                ahead.widen()
                if self._ready_for(e, "summary", states):
                    self._attempts(e, "summary", states, lambda: self._stages.summary(e, page, self._stored_diff(e)))

    def _prepare(self, e: PlanEntry, states) -> Callable[[], PageInput] | None:
        """(On the look-ahead thread.) The page extracted, or None when that is a dead letter. A page an
        earlier run extracted is read back when its diff or summary needs it (a missing PNG then
        fails that stage, not the walk)."""
        if self._state(e, "pages", states) == ledger.DONE:
            return functools.cache(lambda: self._stages.page_input(e))
        ok, page = self._attempts(e, "pages", states, lambda: self._stages.extract(e, keep=True))
        return (lambda: page) if ok else None

    def _stage_by_stage(self, plan: list[PlanEntry], states) -> None:
        """Every page extracted, then every page diffed, then every page summarised, one page at a time."""
        self.report.skipped = sum(self._all_done(e, states) for e in plan)
        for e in plan:
            if self._ready_for(e, "pages", states):
                self._attempts(e, "pages", states, lambda: self._stages.extract(e, keep=False))
        for e in plan:
            if self._ready_for(e, "diff", states):
                self._attempts(e, "diff", states, lambda: self._stages.diff(e, self._stages.page_input(e)))
        for e in plan:
            if self._ready_for(e, "summary", states):
                self._attempts(e, "summary", states, lambda: self._stages.summary(
                    e, lambda: self._stages.page_input(e), self._stored_diff(e)))

    def _stored_diff(self, e: PlanEntry) -> dict:
        def load() -> dict | None:  # diffed by an earlier run
            with connect(self.warehouse) as conn:
                return tables.diffs(conn, self.job_id).get(e.page_number)

        return self._stages.stored_diff(e, load)

    # ------------------------------------------------------------------------------------ one stage
    def _write(self, e: PlanEntry, stage: str, state: str, rows=None, *, urgent: bool = True, **kw) -> None:
        """Queue a stage's ledger row (and its result rows): committed together, in order (commits.py)."""
        note = (e.page_number, stage) if state == ledger.DONE else None
        self._commits.put([self._entry(e, stage, state, **kw)], rows, note=note, urgent=urgent)

    def _committed(self, notes: list) -> None:
        at = round(time.monotonic() - self._t0, 3)
        self.report.commits += [(page, stage, at) for page, stage in notes]

    def _attempts(self, e: PlanEntry, stage: str, states, work) -> tuple[bool, object]:
        """Run one stage of one page until done or a dead letter: (done, what the stage returned)."""
        key = item_id(self.job_id, e.page_number)
        if states.get((key, stage)) == ledger.DEAD_LETTER:
            return False, None
        while True:
            self._write(e, stage, ledger.IN_PROGRESS, attempts_delta=1, urgent=False)
            try:
                result = work()
            except Exception as exc:  # any failure of this page's stage: retried, then a dead letter
                reason = f"{type(exc).__name__}: {exc}"[:2000]
                self.log(f"{self.job_id} page {e.page_number} {stage} failed: {reason}")
                self._write(e, stage, ledger.FAILED, error=reason)
                self._commits.flush()
                with connect(self.warehouse) as conn:
                    (row,) = ledger.select(conn, domain=DOMAIN, item_ids=[key], stage=stage)
                if row.state == ledger.DEAD_LETTER:
                    states[(key, stage)] = ledger.DEAD_LETTER
                    return False, None
                continue
            # a page's pictures are no result a reviewer waits for: they ride with the next diff's commit
            self._write(e, stage, ledger.DONE, result.write, detail=result.detail, urgent=stage != "pages")
            states[(key, stage)] = ledger.DONE
            return True, result.value

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
