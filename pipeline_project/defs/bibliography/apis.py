"""The requests each service understands, and their records turned into candidates.

Crossref: GET /works/{doi}; GET /works?query.bibliographic=<the reference as printed>&rows=5 with
`select` trimming the records. OpenAlex: GET /works/https://doi.org/{doi} (a singleton: free);
GET /works?search=<title>&per_page=5 (a search: charged). arXiv ids are DataCite DOIs
(10.48550/arXiv.<id>): Crossref does not hold them (it answers 404), OpenAlex does.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from pipeline_project.defs.bibliography.fields import family_name
from pipeline_project.defs.bibliography.gateway import Service
from pipeline_project.defs.bibliography.scoring import Candidate

ROWS = 5
CROSSREF_SELECT = "DOI,title,author,issued,published,container-title,volume,issue,page,score,link,license"
OPENALEX_SELECT = ("id,doi,display_name,title,publication_year,authorships,primary_location,biblio,open_access,"
                   "best_oa_location,locations")


def arxiv_doi(arxiv_id: str) -> str:
    bare = re.sub(r"v\d+$", "", arxiv_id)
    return f"10.48550/arxiv.{bare}".lower()


# -- Crossref ----------------------------------------------------------------------------------------
def crossref_candidate(item: dict) -> Candidate:
    year = None
    for key in ("issued", "published", "published-print", "published-online"):
        parts = ((item.get(key) or {}).get("date-parts") or [[None]])[0]
        if parts and parts[0]:
            year = int(parts[0])
            break
    authors = item.get("author") or []
    names = [" ".join(x for x in (a.get("given"), a.get("family") or a.get("name")) if x) for a in authors]
    first = (authors[0].get("family") or authors[0].get("name")) if authors else None
    pdf = next((link.get("URL") for link in item.get("link") or []
                if link.get("content-type") == "application/pdf" and _open_licence(item)), None)
    return Candidate(
        service="crossref", title=(item.get("title") or [None])[0], doi=(item.get("DOI") or "").lower() or None,
        authors=names, first_author=first, year=year, venue=(item.get("container-title") or [None])[0],
        volume=item.get("volume"), issue=item.get("issue"),
        first_page=(item.get("page") or "").split("-")[0] or None, pdf_url=pdf, is_oa=True if pdf else None,
        relevance=item.get("score"))


def _open_licence(item: dict) -> bool:
    return any("creativecommons.org" in (lic.get("URL") or "") for lic in item.get("license") or [])


def crossref_by_doi(service: Service, doi: str) -> Candidate | None:
    body = service.get(f"/works/{quote(doi, safe='/')}")
    return crossref_candidate(body["message"]) if body and isinstance(body.get("message"), dict) else None


def crossref_search(service: Service, reference_text: str) -> list[Candidate]:
    body = service.get("/works", {"query.bibliographic": reference_text[:500], "rows": ROWS,
                                  "select": CROSSREF_SELECT}, cost="list")
    items = ((body or {}).get("message") or {}).get("items") or []
    return [crossref_candidate(i) for i in items if i.get("title")]


# -- OpenAlex ----------------------------------------------------------------------------------------
def openalex_candidate(work: dict) -> Candidate:
    authorships = work.get("authorships") or []
    names = [((a.get("author") or {}).get("display_name") or a.get("raw_author_name") or "") for a in authorships]
    biblio = work.get("biblio") or {}
    oa = work.get("open_access") or {}
    best = work.get("best_oa_location") or {}
    pdf = best.get("pdf_url") or next((loc.get("pdf_url") for loc in work.get("locations") or [] if loc.get("pdf_url")),
                                      None)
    source = ((work.get("primary_location") or {}).get("source") or {})
    return Candidate(
        service="openalex", title=work.get("title") or work.get("display_name"),
        doi=(work.get("doi") or "").lower().replace("https://doi.org/", "") or None,
        openalex_id=(work.get("id") or "").rsplit("/", 1)[-1] or None, authors=names,
        first_author=family_name(names[0]) if names and names[0] else None, year=work.get("publication_year"),
        venue=source.get("display_name"), volume=biblio.get("volume"), issue=biblio.get("issue"),
        first_page=biblio.get("first_page"), is_oa=oa.get("is_oa"), oa_status=oa.get("oa_status"), pdf_url=pdf,
        relevance=work.get("relevance_score"))


def openalex_by_doi(service: Service, doi: str) -> Candidate | None:
    body = service.get(f"/works/https://doi.org/{doi}")
    return openalex_candidate(body) if body and body.get("id") else None


def openalex_search(service: Service, query: str) -> list[Candidate]:
    body = service.get("/works", {"search": query[:300], "per_page": ROWS, "select": OPENALEX_SELECT}, cost="search")
    return [openalex_candidate(w) for w in (body or {}).get("results") or [] if w.get("id")]
