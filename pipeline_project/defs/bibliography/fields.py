"""One reference entry → its fields: authors, title, year, venue, volume, issue, pages, DOI, arXiv id, URL.

Identifiers come from patterns (they are unambiguous). Authors, title and venue come from where
the common styles put them: a quoted title (IEEE, Chicago), the year in parentheses after the
authors (APA, Harvard), "Surname AB, Surname C." before the title (Vancouver), else the first
sentence is the authors and the next the title. refextract fills what this leaves empty
(see parsing.py). The raw text is always kept beside the fields.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from pipeline_project.defs.bibliography.signals import (
    ARXIV,
    DOI,
    PAREN_YEAR,
    REPEATED_AUTHOR,
    URL,
    VOLUME_ISSUE,
    YEAR,
    _SURNAME,
)
from pipeline_project.defs.bibliography.splitting import strip_marker

QUOTED = re.compile(r"[“\"«„‘]\s*(.{8,}?)\s*[”\"»“’](?!\w)")
_INITIALS = r"(?:[A-Z]{1,3}|[A-Z](?:\s[A-Z]){1,3})"  # "JA" or "G F R"
VANCOUVER_AUTHORS = re.compile(
    rf"^(?:{_SURNAME}\s{_INITIALS}(?:,\s+|\s+(?:and|&)\s+))*{_SURNAME}\s{_INITIALS}(?:,?\s+et\s+al)?\.\s")
# "Ellis G F R and Stoeger W, 1987 Class. Quantum Grav. 4 1697": authors, year, venue; no title
PHYSICS = re.compile(
    rf"^((?:{_SURNAME}\s{_INITIALS}(?:\s+et\s+al)?(?:,\s+|\s+(?:and|&)\s+))*{_SURNAME}\s{_INITIALS}(?:\s+et\s+al)?),"
    r"\s+((?:1[5-9]|20)\d\d)[a-z]?\s+(.+)$")
YEAR_SENTENCE = re.compile(r"(?:^|[.,]\s+)\(?((?:1[5-9]|20)\d\d)[a-z]?\)?[.,:]\s")  # "Smith, J. 2003. Title"
ABBREVIATIONS = frozenset(
    "vol no nos pp p ed eds edn proc j int conf trans rev lett phys et al dept univ inst jr sr st vs ch fig "
    "sec eq nat sci acad natl am soc res eng inf comput ser assoc mech appl math hrsg bd jg nr s ibid op cit "
    "biol chem med geophys struct environ manag symp annu".split())
SENTENCE_END = re.compile(r"([.?!])\s+")
PP = re.compile(r"\bpp?\.\s*(\d+\s*[-–—]\s*\d+|\d+)", re.I)
VOL = re.compile(r"\bvol\.?\s*(\d+)", re.I)
NO = re.compile(r"\b(?:no|nr|issue)\.?\s*(\d+)", re.I)
COLON_PAGES = re.compile(r"\)?\s*:\s*(\d+\s*[-–—]\s*\d+|\d+)")


@dataclass
class Fields:
    authors: list[str] = field(default_factory=list)
    title: str | None = None
    year: int | None = None
    venue: str | None = None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    doi: str | None = None
    arxiv_id: str | None = None
    url: str | None = None
    first_author: str | None = None  # family name of the first author

    def as_dict(self) -> dict:
        return asdict(self)


def clean_doi(raw: str) -> str:
    doi = raw.rstrip(".,;:")
    while doi.endswith(")") and doi.count(")") > doi.count("("):
        doi = doi[:-1]
    while doi.endswith("]") and doi.count("]") > doi.count("["):
        doi = doi[:-1]
    return doi.rstrip(".,;:").lower()


def identifiers(text: str) -> tuple[str | None, str | None, str | None]:
    """(doi, arxiv id, url) found in the text."""
    doi_m = DOI.search(text)
    arxiv_m = ARXIV.search(text)
    url = next((u.rstrip(".,;)") for u in URL.findall(text) if "doi.org/" not in u.lower()), None)
    doi = clean_doi(doi_m.group(1)) if doi_m else None
    arxiv = arxiv_m.group(1) if arxiv_m else None
    if doi and doi.startswith("10.48550/arxiv."):
        arxiv = arxiv or doi.split("arxiv.", 1)[1]
    return doi, arxiv, url


def _without_ids(text: str) -> str:
    for pattern in (URL, DOI, ARXIV):
        text = pattern.sub(" ", text)
    return re.sub(r"\b(?:doi|available( online)?( at)?|accessed|retrieved( from)?)\s*:?\s*$", "", text.strip(), flags=re.I)


def sentences(text: str) -> list[str]:
    """Split at . ? ! followed by space, but not after initials or common abbreviations."""
    out, begin = [], 0
    for m in SENTENCE_END.finditer(text):
        before = text[begin:m.start()].rsplit(None, 1)
        token = before[-1] if before else ""
        if m.group(1) == "." and (len(token) <= 1 or token.lower().strip("(") in ABBREVIATIONS
                                  or re.fullmatch(r"(?:[A-ZÀ-Þ]\.-?)+[A-ZÀ-Þ]?\.?", token)):
            continue
        out.append(text[begin:m.end()].strip())
        begin = m.end()
    if text[begin:].strip():
        out.append(text[begin:].strip())
    return out


def _tidy(text: str | None) -> str | None:
    if not text:
        return None
    text = re.sub(r"\s+", " ", text).strip(" ,.;:–—-")
    text = re.sub(r"^(?:in|in:|en|em|dans)\s+", "", text, flags=re.I)
    return text or None


INITIALS_FIRST = re.compile(r"^(?:[A-ZÀ-Þ]\.\s?-?){1,3}\s?[A-ZÀ-Þa-z]")  # "J. A. Smith, B. Jones"


def split_authors(block: str) -> list[str]:
    block = re.sub(r",?\s*\bet\s+al\b\.?", "", block).strip(" ,;")
    block = re.sub(r"\s*(?:,\s*)?(?:&|\band\b|\bund\b|\bet\b|\by\b|\be\b)\s+", ", ", block)
    pairs = re.findall(rf"({_SURNAME}),\s*((?:[A-ZÀ-Þ]\.\s?-?\s?)+)", block)
    if pairs and not INITIALS_FIRST.match(block) and sum(len(s) + len(i) for s, i in pairs) >= 0.6 * len(block.replace(",", "").replace(" ", "")):
        return [f"{s}, {i.strip()}" for s, i in pairs]
    parts = [p.strip() for p in block.split(",") if p.strip()]
    if len(parts) >= 2 and len(parts[1].split()) == 1 and re.fullmatch(r"[A-ZÀ-Þ][a-zà-ÿ]+", parts[1]) \
            and len(parts[0].split()) <= 3 and not re.fullmatch(r"[A-Z]{1,3}", parts[1]):
        return [f"{parts[0]}, {parts[1]}"] + parts[2:]  # Chicago: "Surname, Given, Given Surname"
    return parts


PARTICLES = frozenset("van von der den de da del della di du dos das la le ten ter".split())


def family_name(author: str) -> str | None:
    """'Smith, J.' / 'J. A. Smith' / 'Smith JA' / 'Anna da Silva' → Smith / Smith / Smith / da Silva."""
    author = author.strip()
    if "," in author:
        return author.split(",", 1)[0].strip() or None
    tokens = author.split()
    if not tokens:
        return None
    if len(tokens) >= 2 and re.fullmatch(r"[A-Z]{1,3}\.?", tokens[-1]):
        while len(tokens) >= 2 and re.fullmatch(r"[A-Z]{1,3}\.?", tokens[-1]):
            tokens = tokens[:-1]
        return " ".join(tokens)  # Vancouver "Smith JA", physics "Ellis G F R"
    particle = next((i for i, t in enumerate(tokens[:-1]) if i > 0 and t in PARTICLES), None)
    return " ".join(tokens[particle:]) if particle is not None else tokens[-1].strip(".")


def _year_in(text: str | None) -> int | None:
    """The last year-like number that is not a volume ("vol. 1974") or part of a page range."""
    found = None
    for m in YEAR.finditer(text or ""):
        before, after = text[:m.start()], text[m.end():]
        if re.search(r"\b(?:vol|no|pp?)\.?\s*$", before, re.I) or re.match(r"\s*[-–]\s*\d", after) \
                or re.search(r"\d\s*[-–]\s*$", before):
            continue
        found = int(m.group(1))
    return found


def _first_year(*texts: str | None) -> int | None:
    for text in texts:
        year = _year_in(text)
        if year:
            return year
    return None


def _numbers(text: str, fields: Fields) -> None:
    vi = VOLUME_ISSUE.search(text)
    if vi:
        fields.volume, fields.issue = vi.group(1), vi.group(2)
    m = VOL.search(text)
    fields.volume = fields.volume or (m.group(1) if m else None)
    m = NO.search(text)
    fields.issue = fields.issue or (m.group(1) if m else None)
    m = PP.search(text) or (COLON_PAGES.search(text[vi.end():]) if vi else None)
    if m:
        fields.pages = re.sub(r"\s+", "", m.group(1)).replace("—", "–")


def _names_like(text: str) -> bool:
    """Authors, not a title: few lowercase words other than name particles and 'and'."""
    words = re.findall(r"[^\W\d_]+", text)
    lower = [w for w in words if w[0].islower() and w not in PARTICLES and w not in ("and", "et", "al", "und")]
    return bool(words) and len(lower) <= max(1, len(words) // 4)


@dataclass
class Layout:
    head: str  # the authors
    title: str
    rest: str  # venue, volume, pages ...
    year: int | None = None  # when the layout says where the year is


def split_layout(body: str) -> Layout:
    """Authors, title and the rest, by the layout the entry follows."""
    quoted = QUOTED.search(body)
    if quoted and quoted.start() < 0.7 * len(body):
        head, rest = body[:quoted.start()], body[quoted.end():]
        ys = YEAR_SENTENCE.search(head)
        if ys:  # Chicago: "Surname, Given. 2003. “Title.”"
            return Layout(head[:ys.start()], quoted.group(1), rest, int(ys.group(1)))
        return Layout(head, quoted.group(1), rest, _first_year(rest, head))
    paren = PAREN_YEAR.search(body)
    if paren and 0 < paren.start() < 0.5 * len(body):
        parts = sentences(body[paren.end():].lstrip(" .,:"))
        return Layout(body[:paren.start()], parts[0] if parts else "", " ".join(parts[1:]), int(paren.group(1)))
    ys = YEAR_SENTENCE.search(body)
    if ys and ys.start() < 0.5 * len(body):
        parts = sentences(body[ys.end():])
        return Layout(body[:ys.start()], parts[0] if parts else "", " ".join(parts[1:]), int(ys.group(1)))
    physics = PHYSICS.match(body)
    if physics:
        return Layout(physics.group(1), "", physics.group(3), int(physics.group(2)))
    vanc = VANCOUVER_AUTHORS.match(body)
    parts = sentences(body[vanc.end():]) if vanc else sentences(body)
    if vanc:
        head = vanc.group(0)
    elif len(parts) >= 2 and _names_like(parts[0]):
        head, parts = parts[0], parts[1:]
    else:
        head = ""
    title, rest = (parts[0] if parts else ""), " ".join(parts[1:])
    return Layout(head, title, rest, _first_year(rest, head, title))


def _venue(rest: str) -> str | None:
    rest = re.sub(r"^\s*[,.]\s*", "", rest)
    cut = re.search(r"(?:,\s*|\s+)(?:vol\.|no\.|pp\.|\d{1,4}\s*\(|\(?(?:1[5-9]|20)\d\d\b|\d+\s*[-–:])", rest, re.I)
    venue = rest[:cut.start()] if cut else (sentences(rest)[0] if rest.strip() else "")
    venue = _tidy(venue)
    return venue if venue and len(venue) >= 3 and re.search(r"[A-Za-zÀ-ÿ]{3}", venue) else None


def parse_fields(text: str, previous_authors: list[str] | None = None) -> Fields:
    """`previous_authors` stand in for a repeated-author dash (———)."""
    body = strip_marker(text.strip())
    fields = Fields()
    fields.doi, fields.arxiv_id, fields.url = identifiers(body)
    repeated = REPEATED_AUTHOR.match(body)
    layout = split_layout(_without_ids(body[repeated.end():] if repeated else body))
    if repeated:
        fields.authors = list(previous_authors or [])
    else:
        fields.authors = [a for a in split_authors(PAREN_YEAR.sub("", layout.head)) if re.search(r"[A-Za-zÀ-ÿ]", a)]
    fields.title = _tidy(layout.title)
    fields.year = layout.year
    fields.venue = _venue(layout.rest)
    _numbers(layout.rest or layout.title, fields)
    fields.first_author = family_name(fields.authors[0]) if fields.authors else None
    return fields
