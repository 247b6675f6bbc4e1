"""Pages matched by sheet id, else by order and look; added and removed sheets are never paired."""

from __future__ import annotations

import pymupdf

from pipeline_project.defs.drawings import matching, sheets
from pipeline_project.samples import drawings as samples


def index(path, with_ids: bool = True) -> list[matching.PageIndex]:
    with pymupdf.open(path) as doc:
        return [matching.PageIndex(i, sheets.sheet_name(p).key if with_ids else None, matching.thumbnail(p))
                for i, p in enumerate(doc)]


def pairs(matches) -> list[tuple]:
    return [(m.old, m.new, m.change_type) for m in matches]


def test_sheet_added_in_the_middle(tmp_path):
    pair = samples.revision_pair(tmp_path, pages=4, seed=2, add_sheet_at=2)
    result = matching.match_pages(index(pair.old), index(pair.new))
    assert pairs(result) == [(0, 0, "compared"), (1, 1, "compared"), (None, 2, "added"), (2, 3, "compared"),
                             (3, 4, "compared")]
    assert {m.method for m in result if m.change_type == "compared"} == {"sheet id"}


def test_without_ids_pages_are_matched_by_look(tmp_path):
    pair = samples.revision_pair(tmp_path, pages=4, seed=2, add_sheet_at=1)
    result = matching.match_pages(index(pair.old, False), index(pair.new, False))
    assert pairs(result) == [(0, 0, "compared"), (None, 1, "added"), (1, 2, "compared"), (2, 3, "compared"),
                             (3, 4, "compared")]


def test_a_replaced_sheet_is_added_and_removed_not_compared(tmp_path):
    """Same page count, but page 2 is a different sheet: never diffed against the old page 2."""
    old = samples.write_set(tmp_path / "old.pdf", samples.base_set(4, seed=5))
    sheets_new = samples.base_set(4, seed=5)
    sheets_new[1] = samples.make_sheet("A-777", "Roof plan", 999)
    new = samples.write_set(tmp_path / "new.pdf", sheets_new)
    for with_ids in (True, False):
        result = matching.match_pages(index(old, with_ids), index(new, with_ids))
        assert pairs(result) == [(0, 0, "compared"), (None, 1, "added"), (1, None, "removed"),
                                 (2, 2, "compared"), (3, 3, "compared")], f"with ids: {with_ids}"


def test_reordered_set_is_matched_by_id(tmp_path):
    base = samples.base_set(3, seed=6)
    old = samples.write_set(tmp_path / "old.pdf", base)
    new = samples.write_set(tmp_path / "new.pdf", [base[2], base[0], base[1]])
    result = matching.match_pages(index(old), index(new))
    assert pairs(result) == [(2, 0, "compared"), (0, 1, "compared"), (1, 2, "compared")]


def test_fewer_pages_in_the_new_set(tmp_path):
    base = samples.base_set(4, seed=7)
    old = samples.write_set(tmp_path / "old.pdf", base)
    new = samples.write_set(tmp_path / "new.pdf", base[:1] + base[2:])
    result = matching.match_pages(index(old), index(new))
    assert pairs(result) == [(0, 0, "compared"), (1, None, "removed"), (2, 1, "compared"), (3, 2, "compared")]


def test_scanned_sets_match_by_ocr_ids(sets):
    result = matching.match_pages(index(sets["scan_old"]), index(sets["scan_new"]))
    assert pairs(result) == [(i, i, "compared") for i in range(4)]
    assert {m.method for m in result} == {"sheet id"}
