"""What a bibliographic entry looks like: the patterns extraction, splitting and parsing share.

`reference_likeness` scores a piece of text by the marks references carry (a year, an author
at the start, a DOI or URL, volume/issue/pages, venue words) against the marks prose carries
(many short function words, no year). It decides whether a supposed list really is one.
"""

from __future__ import annotations

import re

YEAR = re.compile(r"(?<![\d/.])((?:1[5-9]|20)\d\d)[a-z]?(?![\d/])")
PAREN_YEAR = re.compile(r"\((?:[^()]{0,20}?)((?:1[5-9]|20)\d\d)[a-z]?(?:[^()]{0,12})\)")
DOI = re.compile(r"(?:doi\s*:?\s*|https?://(?:dx\.)?doi\.org/)?\b(10\.\d{4,9}/[^\s\"<>]+)", re.I)
ARXIV = re.compile(r"(?:arxiv\s*:?\s*|arxiv\.org/(?:abs|pdf)/)((?:\d{4}\.\d{4,5})|(?:[a-z\-]+(?:\.[A-Z]{2})?/\d{7}))(v\d+)?", re.I)
URL = re.compile(r"\bhttps?://[^\s<>\"]+", re.I)
ISBN = re.compile(r"\bISBN(?:-1[03])?:?\s*[\d\-X ]{10,17}", re.I)
PAGES = re.compile(r"\b(?:pp?\.\s*)?(\d{1,5})\s*[-–—]\s*(\d{1,5})\b")
VOLUME_ISSUE = re.compile(r"\b(\d{1,4})\s*\((\d{1,4}(?:[-–/]\d{1,4})?)\)")
VOLUME_PAGE = re.compile(r"\b\d{1,4}[,:]?\s+[A-Z]?\d{1,6}\b")  # "483 565", "9: 1344"
ABBREVIATED = re.compile(r"\b[A-Z][a-z]{1,7}\.(?=\s)")
VENUE_WORDS = re.compile(
    r"\b(?:vol|no|pp|eds?|edn|proc|journal|conference|symposium|workshop|press|university|review|letters|"
    r"transactions|proceedings|in:|doi|isbn|accessed|retrieved|available|thesis|report|zeitschrift|revista|"
    r"bulletin|annals|quarterly|verlag|editora|hrsg|et al)\b\.?", re.I)
_SURNAME = r"(?:(?:van|von|der|den|de|da|del|della|di|du|dos|das|la|le|ten|ter|bin|al|el)\s)*[A-ZÀ-ÖØ-ÞĀ-Žƀ-ɏА-Я][\w'’\-]+"
AUTHOR_START = re.compile(
    rf"^(?:{_SURNAME},\s+(?:[A-ZÀ-ÞА-Я]\.|[A-ZÀ-ÞА-Я][a-zà-ÿа-я]+)"  # Smith, J. / Smith, John
    rf"|{_SURNAME}\s[A-Z]{{1,4}}(?:[,.]|\s\(|\s(?:and|&)\s)"  # Smith JA,  (Vancouver, Harvard-like)
    rf"|{_SURNAME}(?:\s[A-Z]\.?){{1,4}}(?:[,.]|\s(?:and|&|et)\s)"  # Ellis G F R and  (physics)
    rf"|(?:[A-ZÀ-Þ]\.\s?-?){{1,3}}\s?{_SURNAME}[,.\s]"  # J. A. Smith,
    rf"|[A-Z][\w&.\-]*(?:\s[A-Z][\w&.\-]*){{0,5}}\s\(\d{{4}}"  # R Development Core Team (2006)
    rf"|[A-ZÀ-Þ]{{2,}}(?:\s[A-ZÀ-Þ]{{2,}})?,\s+[A-ZÀ-Þ]"  # SMITH, J.
    r"|[—–\-_]{2,})"  # ——— the same author(s) as above
)
REPEATED_AUTHOR = re.compile(r"^[—–\-_]{2,}\s*[.,]?\s*")
_FUNCTION_WORDS = frozenset("the a an and of to in is that we our this with for are was were be by as on it which "
                            "these those from their not can has have been also more than into such".split())


def has_identifier(text: str) -> bool:
    return bool(DOI.search(text) or ARXIV.search(text) or URL.search(text) or ISBN.search(text))


def prose_ratio(text: str) -> float:
    words = re.findall(r"[a-zA-Z]+", text.lower())
    if len(words) < 8:
        return 0.0
    return sum(w in _FUNCTION_WORDS for w in words) / len(words)


_MARKER = re.compile(r"^\s*(?:[\[{(]\s*[0-9lIO]{1,3}\s*[\]})]|\d{1,3}[.)]?)\s+")


def reference_likeness(text: str) -> float:
    """≥ 2 for what looks like a bibliographic entry; prose and table rows score lower."""
    text = _MARKER.sub("", text.strip(), count=1)
    if len(text) < 15:
        return 0.0
    score = 0.0
    score += 1.0 if YEAR.search(text) else 0.0
    score += 1.0 if AUTHOR_START.match(text) else 0.0
    score += 1.5 if has_identifier(text) else 0.0
    score += min(1.0, 0.5 * len(VENUE_WORDS.findall(text)))
    score += 0.5 if (PAGES.search(text) or VOLUME_ISSUE.search(text) or VOLUME_PAGE.search(text)) else 0.0
    score += 0.5 if len(ABBREVIATED.findall(text)) >= 2 else 0.0  # "Astrophys. J.", "Phys. Rev."
    score += 0.5 if re.search(r"[“\"«„].{8,}[”\"»“]", text) else 0.0
    if prose_ratio(text) > 0.3:
        score -= 1.5
    if len(text) > 900:
        score -= 1.0
    return score


def is_reference_like(text: str) -> bool:
    return reference_likeness(text) >= 2.0


def is_prose_line(text: str) -> bool:
    """A long line of running text: function words, no year, no identifier."""
    return len(text) >= 50 and prose_ratio(text) > 0.3 and not YEAR.search(text) and not has_identifier(text)
