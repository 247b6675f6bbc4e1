"""Is this candidate the cited work? Title similarity, year and first author, weighed into 0–1.

    score = 0.6 · title + 0.2 · year + 0.2 · first author

title: rapidfuzz token-sort ratio of the normalised titles (a reference without a title, common in
physics, is compared on volume and first page instead); year: 1 when equal, 0.5 one year apart
(online-first vs print), else 0; first author: similarity of family names with accents folded.
A part the reference does not have counts 0.5 (no evidence either way). Accepted at or above the
threshold (PIPELINE_BIB_MATCH_THRESHOLD, default 0.8); below it the best candidate is kept with the
reason it fell short.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field

from rapidfuzz import fuzz

WEIGHTS = {"title": 0.6, "year": 0.2, "author": 0.2}


@dataclass
class Candidate:
    service: str
    title: str | None = None
    doi: str | None = None
    openalex_id: str | None = None
    authors: list[str] = field(default_factory=list)  # display names
    first_author: str | None = None  # family name
    year: int | None = None
    venue: str | None = None
    volume: str | None = None
    issue: str | None = None
    first_page: str | None = None
    is_oa: bool | None = None
    oa_status: str | None = None
    pdf_url: str | None = None
    relevance: float | None = None  # the service's own ranking score

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Score:
    total: float
    title: float
    year: float
    author: float

    def explain(self) -> str:
        return f"title {self.title:.2f}, year {self.year:.2f}, first author {self.author:.2f}"


def fold(text: str | None) -> str:
    """Lower case, accents and punctuation removed: 'Müller' and 'Muller' compare equal."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[^\w]+", " ", text.casefold()).strip()


def _title_part(ref: dict, cand: Candidate) -> float:
    if ref.get("title") and cand.title:
        a, b = fold(ref["title"]), fold(cand.title)
        # a subtitle may be missing on either side ("How many fish?" vs "How many fish? Comparison of …")
        short, long_ = sorted((a, b), key=len)
        prefix = 0.95 * fuzz.ratio(short, long_[:len(short)]) if len(short) >= 12 and len(short.split()) >= 3 else 0
        return max(fuzz.token_sort_ratio(a, b), prefix) / 100
    if not ref.get("title"):
        volume = ref.get("volume") and cand.volume and str(ref["volume"]) == str(cand.volume)
        page = ref.get("pages") and cand.first_page and str(ref["pages"]).split("–")[0].split("-")[0] == str(cand.first_page)
        return 1.0 if volume and page else 0.6 if (volume or page) else 0.5
    return 0.0


def _year_part(ref: dict, cand: Candidate) -> float:
    if not ref.get("year") or not cand.year:
        return 0.5
    gap = abs(int(ref["year"]) - int(cand.year))
    return 1.0 if gap == 0 else 0.5 if gap == 1 else 0.0


def _author_part(ref: dict, cand: Candidate) -> float:
    mine, theirs = fold(ref.get("first_author")), fold(cand.first_author)
    if not mine or not theirs:
        return 0.5
    if mine == theirs or mine.split()[-1] == theirs.split()[-1]:
        return 1.0
    return 1.0 if fuzz.ratio(mine, theirs) >= 85 else 0.0


def score(ref: dict, cand: Candidate) -> Score:
    """`ref` holds the reference's parsed fields (title, year, first_author, volume, pages)."""
    title, year, author = _title_part(ref, cand), _year_part(ref, cand), _author_part(ref, cand)
    total = WEIGHTS["title"] * title + WEIGHTS["year"] * year + WEIGHTS["author"] * author
    return Score(round(total, 4), round(title, 3), year, author)


def best_of(ref: dict, candidates: list[Candidate]) -> tuple[Candidate | None, Score | None]:
    scored = [(score(ref, c), c) for c in candidates]
    if not scored:
        return None, None
    best_score, best = max(scored, key=lambda sc: (sc[0].total, sc[1].service == "openalex"))
    return best, best_score
