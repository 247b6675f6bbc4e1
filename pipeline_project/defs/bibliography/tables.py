"""The bibliography's warehouse tables, under the names the reference tool always used.

    bib_documents           one row per document: its depth in the citation crawl, its own DOI, lists found
    bib_lists               one row per reference list: heading, pages, style, entries
    no_metadata             one row per reference as extracted: raw text, page, parsed fields
    with_metadata           one row per enriched reference: matched | unmatched | waiting, the match
                            (DOI, OpenAlex id, title, authors, year, venue, open access, PDF link),
                            score, which service answered, the best candidate and reason otherwise
    to_download_references  one row per cited work to fetch: its PDF link, why (or why not) it is fetched
    downloaded_references   one row per fetched PDF: file, content hash, where it went
    bibliography_references (view) every reference with its enrichment and download state

Rows carry batch_id (the OCR batch of the citing document); a stage replaces its batch's rows in
one transaction together with its item-ledger rows, so a re-run gives exactly one copy.
"""

from __future__ import annotations

import duckdb

SCHEMA = """
CREATE TABLE IF NOT EXISTS bib_documents (
    doc_id VARCHAR PRIMARY KEY,
    batch_id VARCHAR NOT NULL,
    source_file VARCHAR,
    pages INTEGER,
    depth INTEGER NOT NULL,          -- 0: a document you added; n: fetched because a depth n-1 document cites it
    own_doi VARCHAR,
    lists INTEGER NOT NULL,
    references_found INTEGER NOT NULL,
    outcome VARCHAR NOT NULL,        -- lists found | no reference list | no text
    extracted_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS bib_lists (
    doc_id VARCHAR NOT NULL,
    list_index INTEGER NOT NULL,
    batch_id VARCHAR NOT NULL,
    heading VARCHAR,
    pages INTEGER[],
    style VARCHAR,
    references_found INTEGER,
    PRIMARY KEY (doc_id, list_index)
);
CREATE TABLE IF NOT EXISTS no_metadata (
    ref_id VARCHAR PRIMARY KEY,
    doc_id VARCHAR NOT NULL,
    batch_id VARCHAR NOT NULL,
    list_index INTEGER,
    ordinal INTEGER,
    number INTEGER,
    page INTEGER,
    text VARCHAR NOT NULL,
    authors VARCHAR[],
    first_author VARCHAR,
    title VARCHAR,
    year INTEGER,
    venue VARCHAR,
    volume VARCHAR,
    issue VARCHAR,
    pages VARCHAR,
    doi VARCHAR,
    arxiv_id VARCHAR,
    url VARCHAR,
    parser VARCHAR,
    depth INTEGER
);
CREATE TABLE IF NOT EXISTS with_metadata (
    ref_id VARCHAR PRIMARY KEY,
    doc_id VARCHAR NOT NULL,
    batch_id VARCHAR NOT NULL,
    status VARCHAR NOT NULL,         -- matched | unmatched | waiting | failed
    method VARCHAR,                  -- doi | arxiv | search
    service VARCHAR,                 -- which service answered: crossref | openalex
    score DOUBLE,
    doi VARCHAR,
    openalex_id VARCHAR,
    title VARCHAR,
    authors VARCHAR[],
    year INTEGER,
    venue VARCHAR,
    is_oa BOOLEAN,
    oa_status VARCHAR,
    pdf_url VARCHAR,
    best_candidate VARCHAR,          -- JSON, when not matched
    reason VARCHAR,
    asked VARCHAR,                   -- JSON: what came of asking each service
    enriched_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS to_download_references (
    work_key VARCHAR PRIMARY KEY,    -- doi:<doi> or openalex:<id>
    doi VARCHAR,
    openalex_id VARCHAR,
    pdf_url VARCHAR,
    title VARCHAR,
    batch_id VARCHAR NOT NULL,       -- the batch whose references asked for it first
    ref_id VARCHAR,                  -- one reference citing it
    depth INTEGER NOT NULL,          -- the depth the fetched document will have
    decision VARCHAR NOT NULL,       -- queued | in corpus (same DOI) | beyond citation depth | no PDF link
    queued_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS downloaded_references (
    work_key VARCHAR PRIMARY KEY,
    doi VARCHAR,
    batch_id VARCHAR NOT NULL,
    url VARCHAR,
    file_name VARCHAR,
    sha256 VARCHAR,                  -- = the documents domain's doc_id once it is ingested
    bytes BIGINT,
    depth INTEGER NOT NULL,
    outcome VARCHAR NOT NULL,        -- in inbox | in corpus (same content) | not a PDF (quarantined)
    detail VARCHAR,
    downloaded_at TIMESTAMP
);
CREATE OR REPLACE VIEW bibliography_references AS
SELECT n.ref_id, n.doc_id, n.batch_id, n.page, n.text, n.title AS cited_title, n.year AS cited_year,
       n.doi AS cited_doi, w.status, w.service, w.score, w.doi, w.openalex_id, w.title, w.is_oa, w.pdf_url,
       w.reason, d.decision AS download_decision, dl.outcome AS download_outcome
FROM no_metadata n
LEFT JOIN with_metadata w USING (ref_id)
LEFT JOIN to_download_references d ON d.work_key = CASE WHEN w.doi IS NOT NULL THEN 'doi:' || w.doi
                                                        ELSE 'openalex:' || w.openalex_id END
LEFT JOIN downloaded_references dl ON dl.work_key = d.work_key;
"""

TABLES = ("bib_documents", "bib_lists", "no_metadata", "with_metadata", "to_download_references",
          "downloaded_references")


def ensure_schema(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(SCHEMA)


def work_key(doi: str | None, openalex_id: str | None) -> str | None:
    if doi:
        return f"doi:{doi.lower()}"
    return f"openalex:{openalex_id}" if openalex_id else None
