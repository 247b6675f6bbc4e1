"""Sheet ids from the text layer, and from Tesseract on the title block of scanned sheets."""

from __future__ import annotations

import pymupdf
import pytest

from pipeline_project.defs.drawings import sheets
from pipeline_project.samples import drawings as samples


def names(path) -> list[sheets.SheetName]:
    with pymupdf.open(path) as doc:
        return [sheets.sheet_name(page) for page in doc]


def test_sheet_ids_come_from_the_title_block_text(sets):
    found = names(sets["old"])
    assert [n.name for n in found] == samples.sheet_ids(4)
    assert all(n.source == "text" for n in found)
    # the equipment tags (FCU-30, ...) and note text mentioning the sheet are not taken for the id
    assert [n.key for n in found] == ["A101", "A102", "A201", "S101"]


def test_rotated_pages_keep_their_ids(sets):
    assert [n.name for n in names(sets["rotated"])] == samples.sheet_ids(4)


def test_scanned_sheets_are_read_by_ocr(sets):
    found = names(sets["scan_old"])
    assert [n.name for n in found] == samples.sheet_ids(4)
    assert {n.source for n in found} == {"ocr"}


def test_ids_of_many_disciplines(tmp_path):
    path = samples.write_set(tmp_path / "set.pdf", samples.base_set(10, seed=4))
    assert [n.name for n in names(path)] == samples.sheet_ids(10)  # ... E-2.1, P-101, FP-101


def test_sheet_n_of_m_is_a_weak_name(tmp_path):
    """No discipline id on the sheet: 'Sheet 2 of 3' names it for people, but not for matching."""
    doc = pymupdf.open()
    page = doc.new_page(width=792, height=612)
    page.insert_text((600, 560), "Sheet 2 of 3", fontsize=9)
    page.insert_text((100, 100), "GENERAL ARRANGEMENT OF THE PUMP ROOM", fontsize=9)
    doc.save(tmp_path / "weak.pdf")
    (found,) = names(tmp_path / "weak.pdf")
    assert found.name == "Sheet 2 of 3" and found.key is None


def test_labelled_title_block_number(tmp_path):
    doc = pymupdf.open()
    page = doc.new_page(width=792, height=612)
    page.insert_text((600, 540), "DWG NO.", fontsize=7)
    page.insert_text((600, 560), "4471-203", fontsize=14)
    page.insert_text((100, 100), "ROOM 101 LAYOUT WITH FURNITURE", fontsize=9)
    doc.save(tmp_path / "number.pdf")
    (found,) = names(tmp_path / "number.pdf")
    assert found.name == "4471-203" and found.key is None


@pytest.mark.parametrize("raw,key", [("A-101", "A101"), ("a101", "A101"), ("A.101", "A101"), ("E-2.1", "E2.1")])
def test_normalised_keys(raw, key):
    assert sheets.normalise(raw) == key
