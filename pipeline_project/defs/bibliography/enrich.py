"""One reference → matched, unmatched or waiting (the `with_metadata` row).

1. A DOI (or arXiv id, a DataCite DOI) in the entry: look the work up directly, OpenAlex first
   (free, and it knows open-access status and PDF links), Crossref if OpenAlex cannot answer.
2. Otherwise, or when the identifier is unknown to both: a bibliographic query to Crossref (the
   entry as printed) and a search to OpenAlex (its title); every candidate is scored.
3. The best candidate at or above the threshold is the match; a Crossref match is completed with
   OpenAlex's open-access facts by DOI (free).
While one service is unavailable (circuit open, allowance spent, failing) the other is asked. When
no acceptable match was found and a service could not be asked, the reference is *waiting*: it is
retried later, because that service might know it. Otherwise it is *unmatched*, with the best
candidate and the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from pipeline_project.defs.bibliography import apis
from pipeline_project.defs.bibliography.gateway import Service
from pipeline_project.defs.bibliography.scoring import Candidate, Score, best_of, score
from pipeline_project.defs.bibliography.services import CROSSREF, OPENALEX
from pipeline_project.defs.bibliography.transport import BadRequest, ServiceError, Unavailable

MATCHED, UNMATCHED, WAITING = "matched", "unmatched", "waiting"


@dataclass
class RefInput:
    ref_id: str
    text: str
    fields: dict  # title, year, first_author, doi, arxiv_id, volume, pages, venue, authors


@dataclass
class Outcome:
    ref_id: str
    status: str  # matched | unmatched | waiting
    match: Candidate | None = None
    score: Score | None = None
    method: str | None = None  # doi | arxiv | search
    best: Candidate | None = None  # the best candidate when not matched
    reason: str = ""
    asked: dict[str, str] = field(default_factory=dict)  # service → what came of asking it
    retry_in: float | None = None  # seconds, for waiting references

    @property
    def answered_by(self) -> str | None:
        return self.match.service if self.match else None


def search_text(text: str) -> str:
    """The entry without its list marker and identifiers, as a bibliographic query."""
    text = re.sub(r"^\s*(?:[\[(]\s*\d{1,4}\s*[\])]|\d{1,4}\.)\s*", "", text)
    text = re.sub(r"(?:https?://\S+|doi:\s*\S+|\b10\.\d{4,9}/\S+|arxiv:\s*\S+)", " ", text, flags=re.I)
    return re.sub(r"\s+", " ", text).strip()[:500]


def openalex_query(ref: RefInput) -> str:
    """The title when there is one (a search matches titles best), else the entry; boolean words
    lower-cased and punctuation dropped so the search reads them as words."""
    title = ref.fields.get("title") or ""
    query = title if len(title.split()) >= 3 else search_text(ref.text)
    query = re.sub(r"[^\w\s]", " ", query)
    query = re.sub(r"\b(AND|OR|NOT)\b", lambda m: m.group(1).lower(), query)
    return re.sub(r"\s+", " ", query).strip()[:300]


class Enricher:
    def __init__(self, services: dict[str, Service], threshold: float = 0.8, search_policy: str = "always"):
        self.services = services
        self.threshold = threshold
        self.search_policy = search_policy

    # -- asking one service ------------------------------------------------------------------------
    def _ask(self, name: str, call: Callable[[Service], object], asked: dict[str, str]):
        service = self.services.get(name)
        if service is None:
            asked[name] = "not configured"
            return None
        try:
            result = call(service)
        except Unavailable as exc:
            asked[name] = f"unavailable: {exc}"
            return None
        except ServiceError as exc:
            asked[name] = f"failed: {exc}"
            return None
        except BadRequest as exc:
            asked[name] = f"refused: {exc}"
            return None
        count = len(result) if isinstance(result, list) else int(result is not None)
        asked[name] = f"answered ({count} found)" if count else "answered (nothing found)"
        return result

    def _unreachable(self, asked: dict[str, str]) -> list[str]:
        return [s for s, v in asked.items() if v.startswith(("unavailable", "failed"))]

    def _retry_in(self, names: list[str]) -> float:
        waits = [self.services[n].available_in("search") for n in names if n in self.services]
        return max(1.0, min(waits)) if waits else 60.0

    # -- the decision ------------------------------------------------------------------------------
    def enrich(self, ref: RefInput) -> Outcome:
        asked: dict[str, str] = {}
        doi = ref.fields.get("doi")
        arxiv = ref.fields.get("arxiv_id")
        if doi or arxiv:
            found = self._by_identifier(doi or apis.arxiv_doi(arxiv), crossref_knows=bool(doi), asked=asked)
            if found is not None:
                sc = score(ref.fields, found)
                if not ref.fields.get("title") or sc.title >= 0.5:
                    return self._matched(ref, found, sc, "doi" if doi else "arxiv", asked)
                asked["identifier"] = f"resolves to another work ({found.title!r})"
        return self._by_search(ref, asked)

    def _by_identifier(self, doi: str, crossref_knows: bool, asked: dict[str, str]) -> Candidate | None:
        found = self._ask(OPENALEX, lambda s: apis.openalex_by_doi(s, doi), asked)
        if found is None and crossref_knows:
            found = self._ask(CROSSREF, lambda s: apis.crossref_by_doi(s, doi), asked)
        return found

    def _by_search(self, ref: RefInput, asked: dict[str, str]) -> Outcome:
        candidates: list[Candidate] = []
        candidates += self._ask(CROSSREF, lambda s: apis.crossref_search(s, search_text(ref.text)), asked) or []
        best, sc = best_of(ref.fields, candidates)
        if self.search_policy == "always" or sc is None or sc.total < self.threshold:
            candidates += self._ask(OPENALEX, lambda s: apis.openalex_search(s, openalex_query(ref)), asked) or []
            best, sc = best_of(ref.fields, candidates)
        if best is not None and sc.total >= self.threshold:
            return self._matched(ref, best, sc, "search", asked)
        unreachable = self._unreachable(asked)
        shortfall = (f"best candidate scored {sc.total:.2f} < {self.threshold:.2f} ({sc.explain()})"
                     if sc else "no candidate found")
        if unreachable:
            return Outcome(ref.ref_id, WAITING, best=best, score=sc, asked=asked,
                           reason=f"waiting for {', '.join(unreachable)}; {shortfall}",
                           retry_in=self._retry_in(unreachable))
        return Outcome(ref.ref_id, UNMATCHED, best=best, score=sc, method="search", asked=asked, reason=shortfall)

    def _matched(self, ref: RefInput, match: Candidate, sc: Score, method: str, asked: dict[str, str]) -> Outcome:
        if match.service == CROSSREF and match.doi and OPENALEX in self.services:
            oa = self._ask(OPENALEX, lambda s: apis.openalex_by_doi(s, match.doi), {})
            if oa is not None:  # open-access status, PDF link and OpenAlex id, by DOI (free)
                match.openalex_id, match.is_oa, match.oa_status = oa.openalex_id, oa.is_oa, oa.oa_status
                match.pdf_url = oa.pdf_url or match.pdf_url
        return Outcome(ref.ref_id, MATCHED, match=match, score=sc, method=method, asked=asked,
                       reason=f"{method} via {match.service}: {sc.explain()}")
