"""The rules behind extraction, on plain text: headings in many languages, columns printed side by
side, lists in reading order (as another OCR engine would deliver them), and the parser combination."""

from __future__ import annotations

import pytest

from pipeline_project.defs.bibliography.extraction import extract
from pipeline_project.defs.bibliography.headings import reference_heading, stop_heading
from pipeline_project.defs.bibliography.layout import reading_order
from pipeline_project.defs.bibliography.parsing import COMBINED, parse_entries
from pipeline_project.samples import papers


@pytest.mark.parametrize("line", ["References", "REFERENCES", "7. References", "VII. REFERENCES",
                                  "R E F E R E N C E S", "Bibliography:", "Works Cited", "Literaturverzeichnis",
                                  "Referências Bibliográficas", "Список литературы", "参考文献", "Kaynakça"])
def test_reference_headings_in_many_languages(line):
    assert reference_heading(line)


@pytest.mark.parametrize("line", ["Bibliography        12        0.18", "References to earlier work are listed below",
                                  "2. How we cite and why references matter", "Referencing practice"])
def test_words_in_prose_or_tables_are_not_headings(line):
    assert reference_heading(line) is None


def test_appendix_and_next_chapter_end_a_list():
    assert stop_heading("Appendix A. Proofs") and stop_heading("Acknowledgements") and stop_heading("Chapter 3. Rivers")
    assert not stop_heading("Smith, J. (2001). Appendix to a theory. Journal 3, 1–2.")


def test_side_by_side_columns_are_read_left_then_right():
    rows = [f"{'left line %02d of the first column text' % i:<50}     right line {i:02d} of the second column"
            for i in range(12)]
    stream = reading_order([(1, "\n".join(rows))])
    texts = [ln.text for ln in stream]
    assert texts[:12] == [f"left line {i:02d} of the first column text" for i in range(12)]
    assert texts[12:] == [f"right line {i:02d} of the second column" for i in range(12)]


def _reading_order_text(style: str, refs: list[papers.Reference], heading: str | None = "References") -> str:
    """A list as an engine that returns plain reading order (olmOCR, Tesseract) prints it."""
    body = ("The results show that the proposed method improves the estimate while the measured values "
            "remain within the expected range for every site.\n") * 4
    entries = [papers.STYLES[style](r, n, refs[n - 2] if n > 1 else None) for n, r in enumerate(refs, 1)]
    wrapped = []
    for entry in entries:  # wrap at ~80 characters, no indentation
        words, line = entry.split(), ""
        for w in words:
            if len(line) + len(w) > 80:
                wrapped.append(line)
                line = w
            else:
                line = f"{line} {w}".strip()
        wrapped.append(line)
    return body + (heading + "\n" if heading else "") + "\n".join(wrapped)


@pytest.mark.parametrize("style", ["ieee", "vancouver", "apa", "chicago"])
def test_lists_in_plain_reading_order_without_indentation(style):
    import random

    rng = random.Random(7)
    refs = [papers.random_reference(rng, i) for i in range(15)]
    if style in papers.HANGING:
        refs.sort(key=lambda r: (r.authors, r.year))
    doc = extract([(1, _reading_order_text(style, refs))])
    assert len(doc.references) == 15
    assert [r.fields.year for r in doc.references] == [r.year for r in refs]


def test_refextract_fills_authors_our_parser_cannot_place():
    text = "[5] S. Weinberg, Phys. Rev. Lett. 19 (1967) 1264."
    (own, _), = parse_entries([text], use_refextract=False)
    (combined, parser), = parse_entries([text], use_refextract=True)
    assert own.authors == []
    assert combined.authors == ["S. Weinberg"] and combined.first_author == "Weinberg" and parser == COMBINED
    assert combined.year == 1967


def test_identifiers_are_cleaned():
    (f, _), = parse_entries(["Doe, J. (2020). A title. Journal, 1(2), 3–4. https://doi.org/10.1000/ABC.123)."],
                            use_refextract=False)
    assert f.doi == "10.1000/abc.123"
    (g, _), = parse_entries(["[3] A. Author, “Deep things,” arXiv preprint arXiv:1706.03762v5, 2017."],
                            use_refextract=False)
    assert g.arxiv_id == "1706.03762" and g.title == "Deep things" and g.year == 2017
