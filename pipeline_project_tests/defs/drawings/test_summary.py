"""Summaries say what changed where, in the same words every time."""

from __future__ import annotations

from pipeline_project.defs.drawings.summary import LocalSummarizer, PageFacts, RegionFacts, describe, location


def test_locations_in_a_persons_words():
    assert location((0.05, 0.05, 0.2, 0.2)) == "upper left"
    assert location((0.45, 0.45, 0.55, 0.55)) == "center"
    assert location((0.8, 0.4, 0.9, 0.5)) == "middle right"
    assert location((0.8, 0.85, 0.9, 0.9)) == "title block"
    assert location((0.4, 0.8, 0.5, 0.9), title_block=(0.3, 0.7, 0.6, 1.0)) == "title block"


def test_region_phrases():
    assert describe(RegionFacts("upper left", (0, 0, 1, 1), ["3300"], ["3900"])) == "'3300' changed to '3900'"
    assert describe(RegionFacts("x", (0, 0, 1, 1), [], ["AHU-3"], added_px=10)) == "added 'AHU-3'"
    assert describe(RegionFacts("x", (0, 0, 1, 1), ["NOTE", "2."], [])) == "removed 'NOTE 2.'"
    assert describe(RegionFacts("x", (0, 0, 1, 1), ["LAB", "112"], ["LAB", "112"])) == "'LAB 112' moved"
    assert describe(RegionFacts("x", (0, 0, 1, 1), [], [], added_px=5, removed_px=5)) == "linework changed"
    assert describe(RegionFacts("x", (0, 0, 1, 1), [], [], added_px=5)) == "linework added"


def test_local_summary_is_deterministic_and_names_the_sheet():
    facts = PageFacts("A-101", "compared", [
        RegionFacts("upper left", (0.1, 0.1, 0.2, 0.3), [], [], 300, 200),
        RegionFacts("middle center", (0.4, 0.4, 0.5, 0.5), ["3300"], ["3900"], 6, 0),
        RegionFacts("title block", (0.8, 0.8, 0.9, 0.9), ["A"], ["B"], 30, 12),
    ])
    first, second = LocalSummarizer().summarize(facts), LocalSummarizer().summarize(facts)
    assert first == second
    assert first.headline == ("A-101: 3 changes — linework changed (upper left); '3300' changed to '3900' "
                              "(middle center); and 1 more")
    assert first.text.splitlines()[1:] == ["- linework changed (upper left)",
                                           "- '3300' changed to '3900' (middle center)",
                                           "- 'A' changed to 'B' (title block)"]


def test_added_removed_and_unchanged_sheets():
    s = LocalSummarizer()
    assert s.summarize(PageFacts("A-105", "added")).headline == "A-105: new sheet, not in the old revision"
    assert s.summarize(PageFacts("A-103", "removed")).headline == "A-103: sheet removed, not in the new revision"
    assert s.summarize(PageFacts(None, "compared")).headline == "This sheet: no changes"
