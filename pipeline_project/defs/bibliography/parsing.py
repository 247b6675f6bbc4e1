"""Entries → fields: our own layout parser first, refextract for what it leaves empty.

Measured on the generated suite (docs/BIBLIOGRAPHY.md): refextract tags authors, DOIs, arXiv ids
and years well but puts titles into its `misc` field, and it splits one entry into several
citations when it sees two years or identifiers; our own splitting decides the entries, and
refextract is asked, one entry per line, only to fill authors, year, DOI, arXiv id and journal
fields our parser could not find. Its journal knowledge base (~8,000 regular expressions, 20 ms
per entry) is replaced by an empty one: it names high-energy-physics journals only, and without it
an entry costs ~3 ms. The knowledge bases load once per process (~1.5 s), on first use.
"""

from __future__ import annotations

import logging
import threading

from pipeline_project.defs.bibliography.fields import Fields, clean_doi, family_name, parse_fields, split_authors
from pipeline_project.lib.settings import env_str

_LOCK = threading.Lock()
_NO_JOURNALS = {"journals": {"PIPELINE-PROJECT-NO-JOURNAL-KB": "PIPELINE-PROJECT-NO-JOURNAL-KB"}}
OWN, COMBINED = "own", "own+refextract"


def refextract_enabled() -> bool:
    """PIPELINE_BIB_REFEXTRACT=auto (default: when installed) | off."""
    return env_str("PIPELINE_BIB_REFEXTRACT", "auto").lower() not in ("off", "0", "false", "no")


def refextract_parse(texts: list[str]) -> list[dict]:
    """refextract's fields for each text (one entry per line), merged when it splits one entry."""
    if not texts:
        return []
    try:
        from refextract.references.engine import parse_references
    except ImportError:  # optional: our own parser still works
        return [{} for _ in texts]
    lines = [f"[{i + 1}] {t.replace(chr(10), ' ')}" for i, t in enumerate(texts)]
    logging.getLogger("refextract").setLevel(logging.ERROR)
    with _LOCK:  # its knowledge-base cache is a module global: load it once, from one thread
        parsed, _stats = parse_references(lines, override_kbs_files=_NO_JOURNALS)
    out: list[dict] = [{} for _ in texts]
    for citation in parsed:
        marker = (citation.get("linemarker") or [""])[0]
        if not marker.isdigit() or not 1 <= int(marker) <= len(texts):
            continue
        slot = out[int(marker) - 1]
        for key, values in citation.items():
            slot.setdefault(key, values)
    return out


def _merge(fields: Fields, extra: dict) -> bool:
    """Fill empty fields from refextract's; True when anything was taken."""
    taken = False
    if not fields.authors and extra.get("author"):
        fields.authors = split_authors(extra["author"][0])
        fields.first_author = family_name(fields.authors[0]) if fields.authors else None
        taken = bool(fields.authors)
    if fields.year is None and extra.get("year"):
        year = extra["year"][0]
        fields.year, taken = (int(year), True) if year.isdigit() else (None, taken)
    if fields.doi is None and extra.get("doi"):
        fields.doi, taken = clean_doi(extra["doi"][0].removeprefix("doi:")), True
    if fields.arxiv_id is None:
        for number in extra.get("reportnumber", []):
            if number.lower().startswith("arxiv:"):
                fields.arxiv_id, taken = number.split(":", 1)[1], True
    if fields.venue is None and extra.get("journal_title"):
        fields.venue, taken = extra["journal_title"][0], True
    if fields.volume is None and extra.get("journal_volume"):
        fields.volume, taken = extra["journal_volume"][0], True
    if fields.pages is None and extra.get("journal_page"):
        fields.pages, taken = extra["journal_page"][0], True
    return taken


def _needs_help(fields: Fields) -> bool:
    return not fields.authors or fields.year is None


def parse_entries(texts: list[str], use_refextract: bool | None = None) -> list[tuple[Fields, str]]:
    """(fields, which parser supplied them) for each entry, in order; a repeated-author dash takes
    the authors of the entry above."""
    results: list[tuple[Fields, str]] = []
    previous: list[str] = []
    for text in texts:
        fields = parse_fields(text, previous)
        previous = fields.authors or previous
        results.append((fields, OWN))
    if use_refextract is None:
        use_refextract = refextract_enabled()
    todo = [i for i, (f, _) in enumerate(results) if _needs_help(f)] if use_refextract else []
    for i, extra in zip(todo, refextract_parse([texts[i] for i in todo])):
        if _merge(results[i][0], extra):
            results[i] = (results[i][0], COMBINED)
    return results
