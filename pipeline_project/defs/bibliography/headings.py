"""Which lines are the heading of a reference list, and which end one.

A heading is a line that is nothing but one of the names a reference list goes by, in any of the
languages below, optionally numbered ("7. References", "VII. REFERENCES", "R E F E R E N C E S").
A word inside prose or a table row ("Bibliography   12   0.18") is not a heading; whether what
follows really is a list is decided later from the entries themselves.
"""

from __future__ import annotations

import re
import unicodedata

REFERENCE_HEADINGS = {
    # English
    "references", "reference", "reference list", "list of references", "references cited", "cited references",
    "bibliography", "select bibliography", "selected bibliography", "works cited", "literature cited",
    "cited literature", "literature", "references and notes", "notes and references", "sources",
    "bibliographic references", "further reading", "citations", "works consulted", "sources cited",
    # German
    "literatur", "literaturverzeichnis", "literaturangaben", "quellen", "quellenverzeichnis", "bibliografie",
    "quellen und literatur", "zitierte literatur",
    # French
    "références", "références bibliographiques", "bibliographie", "ouvrages cités",
    # Spanish, Portuguese, Italian, Catalan
    "referencias", "referencias bibliográficas", "bibliografía", "referências", "referências bibliográficas",
    "bibliografia", "riferimenti bibliografici", "riferimenti", "referències",
    # Dutch, Scandinavian, Finnish
    "literatuur", "literatuurlijst", "referenties", "bronnen", "referenser", "litteratur", "litteraturliste",
    "referanser", "kilder", "källor", "litteraturförteckning", "lähteet", "kirjallisuus",
    # Central and Eastern Europe, Turkish
    "literatura", "piśmiennictwo", "seznam literatury", "použitá literatura", "irodalom", "kaynaklar",
    "kaynakça", "bibliografie", "literatură",
    # Cyrillic, Greek
    "литература", "список литературы", "библиография", "список использованной литературы",
    "использованная литература", "література", "список використаних джерел", "βιβλιογραφία",
    # Asian
    "参考文献", "引用文献", "參考文獻", "참고문헌", "tài liệu tham khảo", "daftar pustaka", "rujukan",
}

# Sections that follow a reference list and end it.
STOP_HEADINGS = {
    "appendix", "appendices", "acknowledgements", "acknowledgments", "acknowledgement", "acknowledgment",
    "supplementary material", "supplementary materials", "supplementary information", "supporting information",
    "supplementary data", "author contributions", "authors' contributions", "conflict of interest",
    "conflicts of interest", "competing interests", "declaration of competing interest", "funding",
    "data availability", "data availability statement", "ethics statement", "about the authors",
    "about the author", "author biographies", "biographies", "figure captions", "figure legends", "figures",
    "tables", "index", "glossary", "abbreviations", "nomenclature", "notes", "endnotes", "danksagung",
    "anhang", "remerciements", "annexe", "annexes", "agradecimentos", "agradecimientos", "apéndice", "anexo",
}

_NUMBERING = re.compile(r"^(?:(?:chapter|section|part)\s+)?(?:\d{1,2}(?:\.\d{1,2})*|[ivxlc]{1,6}|[a-z])[.):]?\s+", re.I)
_CHAPTER = re.compile(r"^(?:chapter|kapitel|chapitre|capítulo|capitolo|hoofdstuk|part|teil)\s+\w+\b", re.I)
_NUMBERED_SECTION = re.compile(r"^(?:\d{1,2}|[IVX]{1,5})\.?\s+[A-Z][a-z]+(?:\s+[A-Za-z][a-z]+){0,4}$")


def _plain(text: str) -> str:
    """Lower case, single spaces, no enclosing punctuation; letter-spaced words closed up."""
    text = unicodedata.normalize("NFC", text).strip()
    if re.fullmatch(r"(?:\w ){3,}\w", text):  # "R E F E R E N C E S"
        text = text.replace(" ", "")
    text = re.sub(r"\s+", " ", text)
    return text.strip(" .:;-–—*[]()").casefold()


def _strip_numbering(text: str) -> str:
    return _NUMBERING.sub("", text, count=1) if len(text.split()) > 1 else text


def reference_heading(line: str) -> str | None:
    """The heading's text when `line` is the heading of a reference list, else None."""
    plain = _plain(line)
    if len(plain) > 60 or len(plain.split()) > 6:
        return None
    for candidate in (plain, _plain(_strip_numbering(line))):
        if candidate in REFERENCE_HEADINGS:
            return line.strip().strip(":").strip()
    return None


def stop_heading(line: str) -> bool:
    """A line that starts the section after a reference list (appendix, acknowledgements, next chapter)."""
    if len(line) > 80 or reference_heading(line):
        return False
    plain = _plain(_strip_numbering(line))
    if plain in STOP_HEADINGS or any(plain.startswith(h + " ") for h in ("appendix", "anhang", "annexe")):
        return True
    return bool(_CHAPTER.match(line.strip()) and len(line.split()) <= 8)


def numbered_section_heading(line: str) -> bool:
    """'5 Discussion', 'IV. Results': a new numbered section (no commas, digits or periods after)."""
    return bool(_NUMBERED_SECTION.match(line.strip()))


def heading_in(line: str) -> str | None:
    """The heading on this line: the whole line, or what follows a wide gap (a heading printed
    beside a figure's axis label or another column's line)."""
    found = reference_heading(line)
    if found or "      " not in line:
        return found
    return reference_heading(re.split(r"\s{6,}", line.strip())[-1])
