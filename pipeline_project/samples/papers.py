"""Generated papers with known reference lists, for the bibliography tests and benchmark.

Each paper is a born-digital PDF written with PyMuPDF (line by line, so line breaks, hanging
indents, columns and footnotes are exactly where we put them) plus its truth: the lists it holds,
their headings and pages, and every reference's authors, title, year and DOI. Styles: numbered
(IEEE, Vancouver), author-year (APA), hanging indent with repeated-author dashes (Chicago), two
columns, no heading, several per-section lists, non-English headings. Traps real papers set: a
section that talks about citing, "Bibliography" as a table row label, a footnote inside the
reference stream, hyphenation across lines, running headers and page numbers.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from pathlib import Path

import pymupdf

SURNAMES = ("Smith Müller Nguyen García Okafor Tanaka Kowalski Johansson Rossi Dubois Silva Kim Novak "
            "Schmidt Popescu Yilmaz Andersen Costa Fischer Moreau Hernández Ivanova Larsen Bianchi Mehta "
            "Sørensen O'Brien Zhang Petrov Haddad").split()
PARTICLES = ("van der Berg", "da Silva", "de la Cruz", "von Trapp")
GIVEN = "Anna Bruno Chiara David Elena Farid Greta Hiro Ines Jonas Kofi Lena Marco Nadia Omar Paula Rui Sven Tara Uma".split()
TOPIC = ("bridge corrosion sediment transport river morphology sensor networks concrete fatigue graph "
         "embeddings citation analysis optical character recognition streaming pipelines soil moisture "
         "hydrological models deep learning retrieval transformers wind turbines structural health "
         "monitoring uncertainty estimation").split()
LONG_WORDS = ("characterization interdisciplinary electrochemical morphodynamics reproducibility "
              "heterogeneous probabilistic photogrammetry infrastructure bibliometrics "
              "representation thermodynamic").split()
FOREIGN_TITLES = ("Über die Ermüdung von Stahlbrücken unter Verkehrslast",
                  "Análise da erosão em margens de rios tropicais",
                  "Étude de la corrosion des armatures dans le béton",
                  "Modelos hidrológicos para cuencas de montaña")
VENUES = ("Journal of Structural Engineering", "Water Resources Research", "Scientometrics",
          "Proceedings of the International Conference on Document Analysis and Recognition",
          "Engineering Structures", "Information Processing & Management", "Revista Brasileira de Recursos Hídricos",
          "Bauingenieur", "Computers & Geosciences")
PROSE = ("the results show that the proposed method improves the estimate while the measured values remain "
         "within the expected range for every site and season we observed during the campaign").split()
RUNNING_HEAD = "Journal of Generated Results 12 (2026) 101–120"
FOOTNOTE = "* Corresponding author. E-mail address: a.author@uni.example (A. Author). Received 3 March 2025."


@dataclass
class Reference:
    authors: list[tuple[str, str]]  # (surname, given name)
    title: str
    year: int
    venue: str
    volume: int
    issue: int
    first_page: int
    doi: str | None = None
    arxiv: str | None = None

    @property
    def first_author(self) -> str:
        return self.authors[0][0]


@dataclass
class ListTruth:
    heading: str | None
    references: list[Reference]
    pages: list[int] = field(default_factory=list)


@dataclass
class PaperTruth:
    path: Path
    style: str
    lists: list[ListTruth]
    pages: int = 0

    @property
    def references(self) -> list[Reference]:
        return [r for lst in self.lists for r in lst.references]


def random_reference(rng: random.Random, n: int, foreign: bool = False) -> Reference:
    authors = []
    for _ in range(rng.choice((1, 1, 2, 2, 3, 4))):
        surname = rng.choice(PARTICLES) if rng.random() < 0.08 else rng.choice(SURNAMES)
        authors.append((surname, rng.choice(GIVEN)))
    if foreign:
        title = rng.choice(FOREIGN_TITLES)
    else:
        words = rng.sample(TOPIC, 4) + [rng.choice(LONG_WORDS)]
        rng.shuffle(words)
        title = " ".join(["On"] + words + ["in", rng.choice(LONG_WORDS)]).capitalize()
    doi = f"10.{rng.randint(1000, 9999)}/gen.{n:04d}.{rng.randint(100, 999)}" if rng.random() < 0.5 else None
    arxiv = f"{rng.randint(15, 25)}{rng.randint(1, 12):02d}.{rng.randint(10000, 99999)}" if not doi and rng.random() < 0.15 else None
    return Reference(authors, title, rng.randint(1975, 2025), rng.choice(VENUES), rng.randint(1, 60),
                     rng.randint(1, 12), rng.randint(1, 900), doi, arxiv)


# -- citation styles -------------------------------------------------------------------------------
def _initials(given: str) -> str:
    return f"{given[0]}."


def _ids(ref: Reference, doi_prefix: str = "doi: ") -> str:
    if ref.doi:
        return f" {doi_prefix}{ref.doi}."
    return f" arXiv:{ref.arxiv}." if ref.arxiv else ""


def ieee(ref: Reference, n: int, _prev: Reference | None = None) -> str:
    names = [f"{_initials(g)} {s}" for s, g in ref.authors]
    who = names[0] if len(names) == 1 else ", ".join(names[:-1]) + ", and " + names[-1]
    pages = f"pp. {ref.first_page}–{ref.first_page + 14}"
    return (f"[{n}] {who}, “{ref.title},” {ref.venue}, vol. {ref.volume}, no. {ref.issue}, {pages}, "
            f"{ref.year}.{_ids(ref)}")


def vancouver(ref: Reference, n: int, _prev: Reference | None = None) -> str:
    who = ", ".join(f"{s} {g[0]}" for s, g in ref.authors)
    return (f"{n}. {who}. {ref.title}. {ref.venue}. {ref.year};{ref.volume}({ref.issue}):"
            f"{ref.first_page}-{ref.first_page + 9}.{_ids(ref, 'doi:')}")


def apa(ref: Reference, n: int, _prev: Reference | None = None) -> str:
    names = [f"{s}, {_initials(g)}" for s, g in ref.authors]
    who = names[0] if len(names) == 1 else ", ".join(names[:-1]) + ", & " + names[-1]
    doi = f" https://doi.org/{ref.doi}" if ref.doi else (f" arXiv:{ref.arxiv}" if ref.arxiv else "")
    return (f"{who} ({ref.year}). {ref.title}. {ref.venue}, {ref.volume}({ref.issue}), "
            f"{ref.first_page}–{ref.first_page + 20}.{doi}")


def chicago(ref: Reference, n: int, prev: Reference | None = None) -> str:
    (s0, g0), rest = ref.authors[0], ref.authors[1:]
    who = f"{s0}, {g0}" + "".join(f", and {g} {s}" if i == len(rest) - 1 else f", {g} {s}"
                                  for i, (s, g) in enumerate(rest))
    if prev is not None and prev.authors == ref.authors:
        who = "———"  # the same author(s) as the entry above
    return f"{who}. {ref.year}. “{ref.title}.” {ref.venue} {ref.volume} ({ref.issue}): {ref.first_page}–{ref.first_page + 30}.{_ids(ref)}"


STYLES = {"ieee": ieee, "vancouver": vancouver, "apa": apa, "chicago": chicago}
HANGING = {"apa", "chicago"}


# -- page layout -----------------------------------------------------------------------------------
class Layout:
    """Writes lines top to bottom, column by column, page by page; footnotes and page furniture."""

    def __init__(self, doc: pymupdf.Document, columns: int = 1, size: float = 9.5):
        self.doc, self.columns, self.size = doc, columns, size
        self.font = pymupdf.Font("cjk")  # PyMuPDF's bundled font: dashes, quotes, accents, Cyrillic
        self.left, self.right, self.top, self.bottom = 54.0, 558.0, 72.0, 720.0
        self.gutter = 24.0
        self.pitch = 11.5  # line pitch of two-column pages
        self.page = None
        self.column = 0
        self.footnotes: list[str] = []
        self._widths: dict[str, float] = {}
        self.new_page()

    @property
    def page_no(self) -> int:
        return self.page.number + 1

    @property
    def width(self) -> float:
        return (self.right - self.left - self.gutter * (self.columns - 1)) / self.columns

    def x0(self) -> float:
        return self.left + self.column * (self.width + self.gutter)

    def new_page(self) -> None:
        if self.page is not None:
            self._finish_page()
        self.page = self.doc.new_page(width=612, height=792)
        self.page.insert_font(fontname="F0", fontbuffer=self.font.buffer)
        self.top = 72.0
        self.column, self.y = 0, self.top
        self._write(self.left, 48, RUNNING_HEAD, 7.5)

    def _finish_page(self) -> None:
        y = self.bottom + 22
        for note in self.footnotes:
            self._write(self.left, y, note, 6.5)
            y += 9
        self.footnotes = []
        self._write(300, 770, str(self.page_no), 8)

    def _write(self, x: float, y: float, text: str, size: float) -> None:
        self.page.insert_text((x, y), text, fontsize=size, fontname="F0")

    def banner(self, text: str, size: float) -> None:
        """A full-width line above the columns (title, authors) on the first page."""
        self._write(self.left, self.y, text, size)
        self.y += size * 1.4
        self.top = self.y

    def _snap(self) -> None:
        """Two columns share one baseline grid, as typeset papers do (LaTeX keeps lines aligned)."""
        if self.columns > 1:
            steps = -(-(self.y - self.top) // self.pitch)
            self.y = self.top + steps * self.pitch

    def advance(self, height: float) -> None:
        if self.columns > 1:
            height = self.pitch
        if self.y + height > self.bottom:
            if self.column + 1 < self.columns:
                self.column, self.y = self.column + 1, self.top
            else:
                self.new_page()

    def line(self, text: str, indent: float = 0.0, size: float | None = None) -> None:
        size = size or self.size
        self._snap()
        self.advance(size * 1.3)
        self._write(self.x0() + indent, self.y, text, size)
        self.y += self.pitch if self.columns > 1 else size * 1.3

    def gap(self, height: float = 6.0) -> None:
        self.y += height
        self._snap()

    def fits(self, text: str, room: float, size: float) -> bool:
        return sum(self._advance(ch) for ch in text) * size <= room

    def _advance(self, ch: str) -> float:
        if ch not in self._widths:  # Font.text_length is slow per call; glyph widths are fixed
            self._widths[ch] = self.font.glyph_advance(ord(ch))
        return self._widths[ch]

    def paragraph(self, text: str, first: float = 0.0, rest: float = 0.0, hyphenate: bool = False,
                  size: float | None = None) -> None:
        """Greedy wrap; long words are hyphenated at the line end when asked, DOIs and URLs broken
        after a slash or dot (no hyphen added), as typesetters do."""
        size = size or self.size
        words, current, indent = text.split(), "", first
        while words:
            word = words.pop(0)
            trial = f"{current} {word}".strip()
            room = self.width - indent
            if self.fits(trial, room, size):
                current = trial
                continue
            head, tail = self._break(current, word, room, size, hyphenate)
            if head:
                self.line(f"{current} {head}".strip(), indent, size)
                current, indent = "", rest
                words.insert(0, tail)
                continue
            if not current:  # a single word wider than the line: let it run over
                self.line(word, indent, size)
                indent = rest
                continue
            self.line(current, indent, size)
            current, indent = "", rest
            words.insert(0, word)
        if current:
            self.line(current, indent, size)

    def _break(self, current: str, word: str, room: float, size: float, hyphenate: bool) -> tuple[str, str]:
        if "/" in word and len(word) > 12:  # a DOI or URL: break after a slash or dot
            for cut in range(len(word) - 3, 3, -1):
                if word[cut - 1] in "/." and self.fits(f"{current} {word[:cut]}".strip(), room, size):
                    return word[:cut], word[cut:]
            return "", word
        core = word.rstrip(".,;:”")
        if hyphenate and core.isalpha() and len(core) >= 9:
            for cut in range(len(core) - 4, 3, -1):
                if self.fits(f"{current} {word[:cut]}-".strip(), room, size):
                    return word[:cut] + "-", word[cut:]
        return "", word

    def close(self) -> None:
        self._finish_page()


# -- papers ----------------------------------------------------------------------------------------
@dataclass
class PaperSpec:
    style: str = "ieee"
    references: int = 20
    columns: int = 1
    heading: str | None = "References"  # None: a numbered list with no heading
    sections: int = 1  # several chapters, each with its own list
    body_paragraphs: int = 6
    citing_section: bool = False  # a section that talks about citing and bibliographies
    table_trap: bool = False  # "Bibliography" as a table row label
    footnote_in_list: bool = False  # a footnote at the foot of a page inside the reference stream
    hyphenate: bool = True
    foreign_entries: int = 0  # entries whose titles are not English
    seed: int = 0


def _prose(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(PROSE) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def _body(lay: Layout, rng: random.Random, spec: PaperSpec, section: int) -> None:
    for p in range(spec.body_paragraphs):
        if p == 2 and spec.citing_section and section == 0:
            lay.gap()
            lay.line("2. How we cite and why references matter", size=11)
            lay.paragraph("References in this field are often incomplete. A bibliography entry should give "
                          "the authors, the year and the title, for example Smith, J. (2019) in the Journal "
                          "of Examples. We checked every reference by hand and report the bibliography "
                          "statistics in Table 1.", hyphenate=spec.hyphenate)
        if p == 3 and spec.table_trap and section == 0:
            lay.gap()
            lay.line("Table 1. Sources by type", size=8.5)
            for label, a, b in (("Type", "Count", "Share"), ("Articles", "41", "0.62"),
                                ("Bibliography", "12", "0.18"), ("References", "9", "0.14"), ("Other", "4", "0.06")):
                lay.advance(11)
                for x, cell in ((0, label), (lay.width * 0.55, a), (lay.width * 0.8, b)):
                    lay._write(lay.x0() + x, lay.y, cell, 8.5)
                lay.y += 11
        lay.paragraph(_prose(rng, rng.randint(50, 110)), first=12, hyphenate=spec.hyphenate)


def write_paper(path: Path, spec: PaperSpec) -> PaperTruth:
    rng = random.Random(spec.seed)
    fmt = STYLES[spec.style]
    doc = pymupdf.open()
    lay = Layout(doc, columns=spec.columns)
    lay.banner(f"A generated study of {' '.join(rng.sample(TOPIC, 3))}", size=14)
    lay.banner(", ".join(f"{g} {s}" for s, g in random_reference(rng, 0).authors) + "*", size=10)
    lay.footnotes.append(FOOTNOTE)
    lay.gap(10)
    lists: list[ListTruth] = []
    for section in range(spec.sections):
        if spec.sections > 1:
            lay.gap(12)
            lay.line(f"Chapter {section + 1}. {' '.join(rng.sample(TOPIC, 2)).title()}", size=12)
        _body(lay, rng, spec, section)
        refs = [random_reference(rng, section * 1000 + i, foreign=i < spec.foreign_entries)
                for i in range(spec.references)]
        if spec.style == "chicago":  # some authors cited twice in a row: repeated-author dashes
            for i in range(2, len(refs), 5):
                refs[i].authors = list(refs[i - 1].authors)
        if spec.style in HANGING:  # author-year lists are alphabetical
            refs.sort(key=lambda r: (r.authors, r.year))
        truth = ListTruth(spec.heading, refs)
        lay.gap(10)
        if spec.heading:
            lay.line(spec.heading, size=11)
            truth.pages.append(lay.page_no)
        hang = spec.style in HANGING
        prev = None
        for n, ref in enumerate(refs, 1):
            if spec.footnote_in_list and n == len(refs) // 2:
                lay.footnotes.append("† Present address: Institute of Examples, 2021 Sample Street, Springfield.")
            before = lay.page_no
            lay.paragraph(fmt(ref, n, prev), rest=14 if hang else 10, hyphenate=spec.hyphenate, size=8.5)
            truth.pages.extend(p for p in range(before, lay.page_no + 1) if p not in truth.pages)
            prev = ref
        lists.append(truth)
        if spec.sections > 1 and section < spec.sections - 1:
            lay.new_page()
    lay.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.subset_fonts()
    doc.save(path, garbage=3, deflate=True)
    return PaperTruth(path, spec.style, lists, pages=len(doc))


def paper_without_references(path: Path, seed: int = 0) -> PaperTruth:
    """A report that mentions references and bibliographies but has no list."""
    spec = PaperSpec(references=0, heading=None, citing_section=True, table_trap=True, seed=seed)
    rng = random.Random(seed)
    doc = pymupdf.open()
    lay = Layout(doc)
    lay.line("Annual report on sensor maintenance", size=14)
    _body(lay, rng, spec, 0)
    lay.paragraph("Further references are available on request from the archive.")
    lay.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.subset_fonts()
    doc.save(path, garbage=3, deflate=True)
    return PaperTruth(path, "none", [], pages=len(doc))


SUITE = {
    "numbered_ieee": PaperSpec(style="ieee", references=28, footnote_in_list=True, seed=1),
    "author_year_apa": PaperSpec(style="apa", references=24, citing_section=True, seed=2),
    "hanging_chicago": PaperSpec(style="chicago", references=22, table_trap=True, seed=3),
    "two_columns": PaperSpec(style="ieee", references=34, columns=2, seed=4),
    "no_heading": PaperSpec(style="vancouver", references=18, heading=None, seed=5),
    "per_section_lists": PaperSpec(style="vancouver", references=8, sections=3, seed=6),
    "german_heading": PaperSpec(style="apa", references=12, heading="Literatur", foreign_entries=3, seed=7),
    "portuguese_heading": PaperSpec(style="vancouver", references=10, heading="Referências",
                                    foreign_entries=2, seed=8),
    "french_heading_numbered": PaperSpec(style="ieee", references=9, heading="Bibliographie", seed=9),
}


def write_suite(folder: Path, names: list[str] | None = None) -> dict[str, PaperTruth]:
    """Every paper of the suite (or the named ones) plus one without references, into `folder`."""
    out = {name: write_paper(Path(folder) / f"{name}.pdf", spec)
           for name, spec in SUITE.items() if names is None or name in names}
    if names is None or "no_references" in names:
        out["no_references"] = paper_without_references(Path(folder) / "no_references.pdf")
    return out


def benchmark_papers(folder: Path, count: int, seed: int = 100) -> list[PaperTruth]:
    """`count` ~10-page papers in rotating styles, for the extraction benchmark."""
    styles = ["ieee", "apa", "chicago", "vancouver"]
    return [write_paper(Path(folder) / f"paper_{i:04d}.pdf",
                        PaperSpec(style=styles[i % 4], references=40, columns=1 + i % 2, body_paragraphs=70,
                                  seed=seed + i))
            for i in range(count)]


def scanned_copy(source: Path, target: Path, dpi: int = 200, pages: list[int] | None = None) -> Path:
    """The same paper as a scanner would deliver it: every page (or the chosen 1-based pages) a
    picture with no text layer, so the OCR engine has to read it."""
    out = pymupdf.open()
    with pymupdf.open(source) as src:
        for page in src:
            if pages and page.number + 1 not in pages:
                continue
            pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY)
            target_page = out.new_page(width=page.rect.width, height=page.rect.height)
            target_page.insert_image(target_page.rect, stream=pix.tobytes("png"))
    target.parent.mkdir(parents=True, exist_ok=True)
    out.save(target, garbage=3, deflate=True)
    return target


def paper_citing(path: Path, entries: list[str], seed: int = 0, title: str | None = None) -> Path:
    """A short paper whose reference list is exactly `entries` (already formatted, e.g. references
    to recorded works from api_replay.cited_works), numbered [1], [2], …"""
    rng = random.Random(seed)
    doc = pymupdf.open()
    lay = Layout(doc)
    lay.banner(title or f"A study of {' '.join(rng.sample(TOPIC, 3))}", size=14)
    for _ in range(3):
        lay.paragraph(_prose(rng, 80), first=12)
    lay.gap(10)
    lay.line("References", size=11)
    for n, entry in enumerate(entries, 1):
        bare = re.sub(r"^\s*(?:\[\d+\]|\d+\.)\s*", "", entry)  # one numbering style for the whole list
        lay.paragraph(f"[{n}] {bare}", rest=10, size=8.5)
    lay.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.subset_fonts()
    doc.save(path, garbage=3, deflate=True)
    return path
