"""A document's page texts → its reference lists and parsed references (the `no_metadata` rows).

    pages ──reading_order──▶ lines ──find_lists──▶ lists of entries ──parse_entries──▶ references

Pure functions over text: the Dagster asset reads page texts from the warehouse, `bib extract`
gets them from the documents domain's OCR engine; neither reads PDFs here.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from pipeline_project.defs.bibliography.fields import Fields, identifiers
from pipeline_project.defs.bibliography.finding import FoundList, find_lists
from pipeline_project.defs.bibliography.layout import Line, reading_order
from pipeline_project.defs.bibliography.parsing import parse_entries


@dataclass
class ReferenceList:
    heading: str | None
    pages: list[int]
    style: str  # numbered:<marker style> | author-year
    references: int


@dataclass
class Reference:
    ordinal: int  # position in the document, from 1
    list_index: int
    page: int
    text: str  # the entry as printed (lines joined, hyphenation mended)
    number: int | None
    fields: Fields
    parser: str  # which parser supplied the fields

    def as_json(self) -> dict:
        return {"text": self.text, "page": self.page, "list": self.list_index, "number": self.number,
                **self.fields.as_dict(), "parser": self.parser}


@dataclass
class DocumentReferences:
    lists: list[ReferenceList] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    own_doi: str | None = None  # the document's own DOI, printed on its first page
    pages: int = 0


def normalized(text: str) -> str:
    return re.sub(r"\W+", " ", text.casefold()).strip()


def reference_id(doc_id: str, text: str, occurrence: int) -> str:
    """Stable across re-runs and across changes of the splitter elsewhere in the document:
    the document, the entry's text, and which repeat of that text it is."""
    key = f"{doc_id}\x1f{normalized(text)}\x1f{occurrence}"
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:20]


def own_doi(stream: list[Line], lists: list[FoundList]) -> str | None:
    """The first DOI on the first page that is not inside a reference list."""
    inside = {i for f in lists for i in range(f.start, f.end)}
    first_page = stream[0].page if stream else None
    for i, line in enumerate(stream):
        if line.page != first_page:
            break
        if i not in inside and "10." in line.text:
            doi, _, _ = identifiers(line.text)
            if doi:
                return doi
    return None


def extract(pages: list[tuple[int, str]], use_refextract: bool | None = None) -> DocumentReferences:
    """All reference lists of a document given as (page number, page text) pairs."""
    stream = reading_order(pages)
    found = find_lists(stream)
    result = DocumentReferences(pages=len(pages), own_doi=own_doi(stream, found))
    ordinal = 0
    for index, lst in enumerate(found):
        parsed = parse_entries([e.text for e in lst.entries], use_refextract=use_refextract)
        result.lists.append(ReferenceList(lst.heading, lst.pages, lst.style, len(lst.entries)))
        for entry, (fields, parser) in zip(lst.entries, parsed):
            ordinal += 1
            result.references.append(Reference(ordinal, index, entry.page, entry.text, entry.number, fields, parser))
    return result


def as_json(file: str, doc: DocumentReferences) -> dict:
    """The `bib extract --json` shape."""
    return {
        "file": file,
        "pages": doc.pages,
        "doi": doc.own_doi,
        "lists": [{"heading": lst.heading, "pages": lst.pages, "style": lst.style, "references": lst.references}
                  for lst in doc.lists],
        "references": [r.as_json() for r in doc.references],
    }
