"""Drawing sets generated once per session (PyMuPDF), each with known edits at known places."""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest

from pipeline_project.defs.drawings import render
from pipeline_project.samples import drawings as samples

EDITS = {0: ["move_wall", "change_dimension"], 1: ["revise_title_block"], 3: ["add_equipment", "remove_note"]}


@pytest.fixture(scope="session")
def sets(tmp_path_factory) -> dict:
    """Named drawing sets: an edited pair, and variants of the old set that look the same."""
    root = tmp_path_factory.mktemp("drawing_sets")
    pair = samples.revision_pair(root / "edited", pages=4, seed=1, edits=EDITS)
    old_sheets = pair.old_sheets
    out = {"pair": pair, "old": pair.old, "new": pair.new}
    out["resaved"] = samples.resave(pair.old, root / "resaved.pdf")
    out["grey"] = samples.write_set(root / "grey.pdf", old_sheets, ink=(0.35, 0.35, 0.35), paper=(0.94, 0.94, 0.92))
    out["resized"] = samples.write_set(root / "resized.pdf", old_sheets, size_delta=(0.6, 0.4))
    out["rotated"] = samples.write_set(root / "rotated.pdf", old_sheets, rotated_pages=(0, 1, 2, 3))
    out["scan_old"] = samples.write_set(root / "scan_old.pdf", old_sheets, scanned=True, scan_seed=3)
    out["scan_new"] = samples.write_set(root / "scan_new.pdf", pair.new_sheets, scanned=True, scan_seed=4)
    return out


class Page:
    """One rendered page: grey picture, text-layer words in its pixels, and whether it is a scan."""

    def __init__(self, path: Path, index: int, dpi: int = render.DEFAULT_DPI):
        with render.open_set(path) as doc:
            page = doc.load_page(index)
            rendered = render.render_page(doc, index, dpi)
            self.gray = rendered.gray
            self.dpi = rendered.dpi
            self.words = render.page_words(page, rendered.dpi / 72)
            self.scanned = render.text_chars(page) == 0


@pytest.fixture(scope="session")
def page():
    cache: dict = {}

    def load(path: Path, index: int, dpi: int = render.DEFAULT_DPI) -> Page:
        key = (str(path), index, dpi)
        if key not in cache:
            cache[key] = Page(path, index, dpi)
        return cache[key]

    return load


def points_to_px(rect: pymupdf.Rect, dpi: int = render.DEFAULT_DPI) -> tuple[float, float, float, float]:
    s = dpi / 72
    return rect.x0 * s, rect.y0 * s, rect.x1 * s, rect.y1 * s


# ------------------------------------------------------------------------------------ Dagster side

import dagster as dg  # noqa: E402

from pipeline_project.defs.drawings.assets import drawing_comparison  # noqa: E402
from pipeline_project.defs.drawings.resources import DrawingSummarizer  # noqa: E402
from pipeline_project.defs.drawings.submissions import register_partition, submit  # noqa: E402


@pytest.fixture
def drawing_resources(storage, warehouse) -> dict:
    return {"storage": storage, "warehouse": warehouse, "drawing_summarizer": DrawingSummarizer()}


@pytest.fixture
def compare(instance, drawing_resources):
    """compare(old, new, **submit options) -> (job id, materialize result): submit and run one comparison."""

    def run(old, new, *, owner="user", source="cli", summarizer=None, **options):
        storage, warehouse = drawing_resources["storage"], drawing_resources["warehouse"]
        sub = submit(storage.root_path, warehouse, old, new, source=source, owner=owner, **options)
        register_partition(instance, sub.job_id)
        resources = dict(drawing_resources, drawing_summarizer=summarizer or drawing_resources["drawing_summarizer"])
        result = dg.materialize([drawing_comparison], partition_key=sub.job_id, instance=instance,
                                resources=resources, raise_on_error=False)
        return sub.job_id, result

    return run
