"""Search evaluation corpora: real text found on this machine, and generated documents with known answers.

Real text: the PDFs Debian packages install under /usr/share/doc, plus plain-text manuals, release notes
and licences from /usr/share/doc and /usr/share/common-licenses typeset into multi-page PDFs (so a query's
answer has a known document and page). Generated text: filler pages, each carrying one fact, with a
paraphrased question for the fact (different words, same meaning), to measure paraphrase recall.

Used by benchmarks/search_*.py and by the search tests (small corpora).
"""

from __future__ import annotations

import random
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pymupdf

from pipeline_project.samples import paragraph

TEXT_SOURCES = ("/usr/share/common-licenses", "/usr/share/doc/git/RelNotes", "/usr/share/doc/dpkg/spec",
                "/usr/share/doc/git/contrib/subtree")
LINES_PER_PAGE = 56


@dataclass(frozen=True)
class Query:
    text: str
    file: str  # the PDF's file name
    page: int  # 1-based page the answer is on
    kind: str  # exact | paraphrase


# A fact written on a page, and a question a user would type for it without copying its words.
FACTS = [
    ("Inspection found corrosion on the steel bearings of the third pier of the river bridge.",
     "rust damage on a support of the crossing over the water"),
    ("The quarterly audit recorded that invoices were paid on average forty days after receipt.",
     "how late are bills settled according to the financial review"),
    ("Patients who slept fewer than six hours reported more headaches in the following week.",
     "lack of sleep linked to head pain"),
    ("The reactor coolant pump was shut down after its vibration exceeded the alarm threshold.",
     "machine stopped because it shook too much"),
    ("Volunteers planted two thousand oak saplings along the northern edge of the park.",
     "people put young trees in the ground near the green space"),
    ("The firmware update fixes a bug that drained the battery while the device was asleep.",
     "software patch for power loss in standby mode"),
    ("Heavy rainfall in March flooded the basement archive and damaged the oldest ledgers.",
     "water destroyed historical records stored underground"),
    ("The committee voted to move the annual conference from Lisbon to Vienna next spring.",
     "yearly meeting relocated to the Austrian capital"),
    ("Delivery trucks now avoid the city centre between seven and ten in the morning.",
     "lorries banned from downtown during rush hour"),
    ("The new vaccine produced antibodies in ninety percent of elderly participants.",
     "immune response of older people to the injection"),
    ("A cracked weld on the crane's boom was discovered during the routine safety check.",
     "fracture found in the lifting machine's arm"),
    ("Students who practised retrieval by testing themselves remembered more after a month.",
     "self quizzing improves long term memory of learners"),
    ("The bakery switched to solar panels and cut its electricity bill by a third.",
     "shop making bread lowered energy costs with sunlight power"),
    ("Customs officers seized counterfeit watches hidden inside shipments of garden furniture.",
     "fake timepieces smuggled in outdoor tables and chairs"),
    ("The library extended its opening hours to midnight during the examination period.",
     "book lending place stays open late while students take tests"),
    ("Engineers replaced the copper cables with optical fibre to reduce signal loss.",
     "glass lines installed instead of metal wires for better transmission"),
    ("The orchestra cancelled its tour after the conductor fell ill with pneumonia.",
     "musicians called off travel because their leader had a lung infection"),
    ("Fishermen reported that cod stocks in the bay had fallen to a historic low.",
     "fewer fish in the coastal waters than ever before"),
    ("The hospital reduced waiting times by letting nurses triage patients at the door.",
     "clinic sped up admissions by having staff assess people on arrival"),
    ("A power outage stopped the trains for two hours during the evening commute.",
     "electricity failure halted rail service when people travelled home"),
    ("The museum returned the bronze statues to the country they were taken from.",
     "gallery gave back metal sculptures to their nation of origin"),
    ("Farmers irrigated the vineyards at night to lose less water to evaporation.",
     "watering grapes after dark saves moisture"),
    ("The startup raised twelve million dollars to build batteries from sodium instead of lithium.",
     "young company funded to make cells with salt metal rather than lithium"),
    ("Air quality sensors showed that nitrogen dioxide peaked near the school at drop-off time.",
     "pollution highest by the children's school when parents arrive by car"),
]


def real_texts(limit: int = 24) -> dict[str, str]:
    """name → plain text of real documents on this machine (PDF text layers and text files)."""
    texts: dict[str, str] = {}
    for pdf in sorted(Path("/usr/share/doc").rglob("*.pdf")):
        with pymupdf.open(pdf) as doc:
            texts[pdf.stem] = "\f".join(page.get_text() for page in doc)
    files = [f for src in TEXT_SOURCES for f in sorted(Path(src).glob("*")) if f.is_file()
             and f.suffix not in (".gz", ".pdf") and f.stat().st_size > 6000]
    rng = random.Random(7)
    rng.shuffle(files)
    for f in files:
        if len(texts) >= limit:
            break
        text = f.read_text(errors="replace")
        if text.isascii():  # the base-14 PDF font writes Latin text only
            texts[f"{f.parent.name}-{f.name}".replace(".", "_")] = text
    return texts


def text_pdf(path: Path, text: str) -> Path:
    """Typeset plain text into pages of LINES_PER_PAGE lines (form feeds start a new page)."""
    doc = pymupdf.open()
    for block in text.split("\f"):
        lines = [w for line in block.splitlines() for w in (textwrap.wrap(line, 96) or [""])]
        for start in range(0, max(len(lines), 1), LINES_PER_PAGE):
            page = doc.new_page()
            page.insert_text((40, 50), "\n".join(lines[start:start + LINES_PER_PAGE]), fontsize=8.5,
                             fontname="cour")
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(path)
    return path


def fact_pdf(path: Path, facts: list[str], seed: int) -> Path:
    """Filler pages, one fact in the middle of each."""
    rng = random.Random(seed)
    doc = pymupdf.open()
    for fact in facts:
        page = doc.new_page()
        body = f"{paragraph(rng, 25)}\n\n{fact}\n\n{paragraph(rng, 25)}"
        page.insert_textbox(pymupdf.Rect(54, 54, 558, 760), body, fontsize=10)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(path)
    return path


def build_corpus(folder: Path, *, real: int = 24, fact_docs: int = 4) -> list[Path]:
    """Write the evaluation PDFs into `folder`: real documents first, then the generated fact documents."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in real_texts(real).items():
        paths.append(text_pdf(folder / f"{name}.pdf", text))
    per_doc = max(1, len(FACTS) // max(1, fact_docs))
    for i in range(0, len(FACTS), per_doc):
        paths.append(fact_pdf(folder / f"facts_{i // per_doc:02d}.pdf", [f for f, _ in FACTS[i:i + per_doc]], i))
    return paths


def _lines_by_page(pdf: Path) -> list[list[str]]:
    with pymupdf.open(pdf) as doc:
        return [[" ".join(line.split()) for line in page.get_text().splitlines()] for page in doc]


def queries(paths: list[Path], *, exact: int = 100, seed: int = 3) -> list[Query]:
    """Exact-line queries (a line copied from a page, unique in the corpus) and the facts' paraphrases."""
    rng = random.Random(seed)
    pages = {p.name: _lines_by_page(p) for p in paths}
    counts: dict[str, int] = {}
    for doc in pages.values():
        for page in doc:
            for line in page:
                counts[line] = counts.get(line, 0) + 1
    candidates = [(name, n + 1, line) for name, doc in pages.items() if not name.startswith("facts_")
                  for n, page in enumerate(doc) for line in page
                  if counts[line] == 1 and len(line) >= 40 and len(re.findall(r"[A-Za-z]{3,}", line)) >= 5]
    out = [Query(line, name, page, "exact") for name, page, line in rng.sample(candidates, min(exact, len(candidates)))]
    for name, doc in pages.items():
        for n, page in enumerate(doc):
            text = " ".join(page)
            out += [Query(question, name, n + 1, "paraphrase") for fact, question in FACTS
                    if " ".join(fact.split()[:6]) in text]
    return out
