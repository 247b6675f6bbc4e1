"""The page diff: real edits are found where they are; re-renders, tone changes, tiny size
changes, rotated storage and scanner skew are not changes."""

from __future__ import annotations

import cv2
import pytest

from pipeline_project.defs.drawings import diff
from pipeline_project_tests.defs.drawings.conftest import points_to_px

MARGIN_PX = 30  # a found box must overlap the edit's rectangle grown by this much


def overlaps(box, rect, margin=MARGIN_PX) -> bool:
    x0, y0, x1, y1 = rect
    return box[0] < x1 + margin and box[2] > x0 - margin and box[1] < y1 + margin and box[3] > y0 - margin


def compare(a, b):
    return diff.compare_pages(a.gray, b.gray, old_words=a.words, new_words=b.words, scanned=a.scanned or b.scanned)


def assert_finds_edits(result, edits, dpi=220):
    boxes = [r.box for r in result.regions]
    for edit in edits:
        rect = points_to_px(edit.rect, dpi)
        assert any(overlaps(b, rect) for b in boxes), f"{edit.kind} at {rect} not among change boxes {boxes}"
    for box in boxes:
        assert any(overlaps(box, points_to_px(e.rect, dpi), 60) for e in edits), (
            f"change box {box} is nowhere near an edit ({[e.kind for e in edits]})")


@pytest.mark.parametrize("index", [0, 1, 3])
def test_edited_pages_have_boxes_at_the_edits(sets, page, index):
    result = compare(page(sets["old"], index), page(sets["new"], index))
    assert result.changes_detected
    assert_finds_edits(result, sets["pair"].edits[index])


def test_changed_letter_in_the_title_block_is_found(sets, page):
    """REV A -> REV B: a few dozen pixels in 7.5 pt type."""
    result = compare(page(sets["old"], 1), page(sets["new"], 1))
    assert result.change_count == 1
    assert [w.text for w in result.words.removed] == ["A"] and [w.text for w in result.words.added] == ["B"]


def test_unedited_page_has_no_changes(sets, page):
    result = compare(page(sets["old"], 2), page(sets["new"], 2))
    assert not result.changes_detected and result.change_count == 0


@pytest.mark.parametrize("variant", ["resaved", "grey", "resized", "rotated"])
def test_pages_that_look_the_same_are_not_changes(sets, page, variant):
    """Re-saved bytes, a whole-page grey-level change, a page a fraction of a point larger, and a
    sheet stored on a portrait page with /Rotate 90: no change anywhere."""
    for index in range(4):
        result = compare(page(sets["old"], index), page(sets[variant], index))
        assert result.change_count == 0, f"{variant} page {index + 1}: {[r.box for r in result.regions]}"


def test_scans_are_registered_and_compared(sets, page):
    """Two scans of the same sheet, skewed and shifted differently: no change; edits still found."""
    same = compare(page(sets["scan_old"], 2), page(sets["scan_new"], 2))
    assert same.change_count == 0, [r.box for r in same.regions]
    assert abs(same.registration.rotation_degrees) > 0.05  # the scans were skewed: registration turned one
    edited = compare(page(sets["scan_old"], 0), page(sets["scan_new"], 0))
    moved_wall = sets["pair"].edits[0][0]
    assert any(overlaps(r.box, points_to_px(moved_wall.rect)) for r in edited.regions)


def test_upside_down_new_page_is_turned_before_comparing(sets, page):
    old, new = page(sets["old"], 0), page(sets["new"], 0)
    turned = cv2.rotate(new.gray, cv2.ROTATE_180)
    result = diff.compare_pages(old.gray, turned)
    assert result.registration.quarter_turns == 2
    assert_finds_edits(result, [e for e in sets["pair"].edits[0] if e.kind == "move_wall"])


def test_new_page_at_another_scale_is_registered(sets, page):
    """The new set plotted smaller (rendered at 180 instead of 220 dpi): scale found, edits in place."""
    old, small = page(sets["old"], 0), page(sets["new"], 0, dpi=180)
    result = diff.compare_pages(old.gray, small.gray)
    assert result.registration.scale == pytest.approx(220 / 180, rel=0.01)
    wall = [e for e in sets["pair"].edits[0] if e.kind == "move_wall"]
    assert_finds_edits(result, wall)


def test_added_sheet_is_one_whole_page_change(sets, page):
    only = page(sets["new"], 0)
    result = diff.whole_page_change(only.gray, added=True)
    assert result.change_count == 1 and result.added.any() and not result.removed.any()
