"""Reference lists found, split and parsed from generated papers with known lists, read through the
documents domain's OCR engine (the text the warehouse holds)."""

from __future__ import annotations

import pytest
from rapidfuzz import fuzz

from pipeline_project.defs.bibliography.extraction import as_json, extract
from pipeline_project.samples import papers

from .conftest import page_texts

STYLES = ["numbered_ieee", "author_year_apa", "hanging_chicago", "two_columns", "no_heading", "per_section_lists",
          "german_heading", "portuguese_heading", "french_heading_numbered"]


def _same_title(a: str | None, b: str) -> bool:
    return bool(a) and fuzz.ratio(a.casefold(), b.casefold()) >= 90


@pytest.mark.parametrize("name", STYLES)
def test_every_list_is_found_with_its_heading_pages_and_entry_count(suite, name):
    truth, pages = suite[name]
    doc = extract(pages)
    assert [(lst.heading, lst.references, lst.pages) for lst in doc.lists] == \
        [(t.heading, len(t.references), t.pages) for t in truth.lists]


@pytest.mark.parametrize("name", STYLES)
def test_fields_match_what_was_cited(suite, name):
    truth, pages = suite[name]
    refs = extract(pages).references
    expected = truth.references
    assert len(refs) == len(expected)
    titles = sum(_same_title(r.fields.title, e.title) for r, e in zip(refs, expected))
    assert titles >= 0.95 * len(expected)
    assert [r.fields.year for r in refs] == [e.year for e in expected]
    assert [r.fields.doi for r in refs] == [e.doi for e in expected]
    assert [r.fields.arxiv_id for r in refs] == [e.arxiv for e in expected]
    assert sum(r.fields.first_author == e.first_author for r, e in zip(refs, expected)) >= 0.95 * len(expected)


def test_numbered_entries_keep_their_numbers_in_reading_order_across_two_columns(suite):
    truth, pages = suite["two_columns"]
    refs = extract(pages).references
    assert [r.number for r in refs] == list(range(1, len(truth.references) + 1))


def test_footnote_inside_the_reference_stream_is_not_glued_to_an_entry(suite):
    for name in ("numbered_ieee", "hanging_chicago"):
        _, pages = suite[name]
        texts = " ".join(r.text for r in extract(pages).references)
        assert "Corresponding author" not in texts and "Present address" not in texts
        assert "Journal of Generated Results 12 (2026)" not in texts  # the running head


def test_repeated_author_dashes_stand_for_the_authors_above(suite):
    truth, pages = suite["hanging_chicago"]
    refs = extract(pages).references
    dashed = [i for i, r in enumerate(refs) if r.text.startswith("———")]
    assert dashed, "the generated list has repeated-author dashes"
    for i in dashed:
        assert refs[i].fields.authors == refs[i - 1].fields.authors
        assert refs[i].fields.first_author == truth.references[i].first_author


def test_words_hyphenated_across_lines_are_mended(suite):
    _, pages = suite["numbered_ieee"]
    broken = [p for _, text in pages for p in text.split("\n") if p.rstrip().endswith("-")]
    assert broken, "the generated paper hyphenates at line ends"
    titles = " ".join(r.fields.title or "" for r in extract(pages).references)
    for word in papers.LONG_WORDS:
        assert f"{word[:4]}- " not in titles
    assert "-\n" not in " ".join(r.text for r in extract(pages).references)


def test_a_section_about_citing_and_a_table_row_named_bibliography_are_not_lists(suite):
    for name in ("author_year_apa", "hanging_chicago"):
        truth, pages = suite[name]
        assert [lst.heading for lst in extract(pages).lists] == ["References"]
    truth, pages = suite["no_references"]
    assert "Bibliography" in " ".join(t for _, t in pages)  # the trap is there ...
    assert extract(pages).references == []  # ... and yields nothing


def test_a_document_without_a_reference_list_yields_none(tmp_path):
    from pipeline_project.samples import born_digital_pdf

    path = born_digital_pdf(tmp_path / "report.pdf", pages=3, seed=1)
    pages = page_texts([path], tmp_path / "ocr")[path]
    doc = extract(pages)
    assert doc.lists == [] and doc.references == []


def test_entries_in_other_languages_keep_their_titles(suite):
    truth, pages = suite["german_heading"]
    titles = [r.fields.title for r in extract(pages).references]
    foreign = [r.title for r in truth.references if r.title in papers.FOREIGN_TITLES]
    assert foreign and all(any(_same_title(t, f) for t in titles) for f in foreign)


def test_a_scanned_reference_list_is_read_through_ocr(tmp_path, suite):
    """OCR noise (accents lost, letters confused) must not lose entries."""
    truth, _ = suite["numbered_ieee"]
    scan = papers.scanned_copy(truth.path, tmp_path / "scan.pdf")
    pages = page_texts([scan], tmp_path / "ocr")[scan]
    doc = extract(pages)
    assert [lst.heading for lst in doc.lists] == ["References"]
    assert abs(len(doc.references) - len(truth.references)) <= 1
    years = sum(r.fields.year == e.year for r, e in zip(doc.references, truth.references))
    assert years >= 0.9 * len(truth.references)


def test_extract_json_has_the_documented_shape(suite):
    _, pages = suite["numbered_ieee"]
    out = as_json("paper.pdf", extract(pages))
    assert out["file"] == "paper.pdf"
    assert set(out["lists"][0]) >= {"heading", "pages"}
    assert set(out["references"][0]) >= {"text", "page", "authors", "title", "year", "doi", "arxiv_id", "venue"}
