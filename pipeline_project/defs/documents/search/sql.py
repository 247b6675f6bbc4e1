"""Every SQL statement of search, in one place (DuckDB dialect; a Postgres port changes only this file).

The lexical index is a BM25 term table of our own, not DuckDB's fts extension: the fts index is static
(`PRAGMA create_fts_index` rebuilds it over the whole corpus) and the extension is downloaded at run time,
which this project never does. Here a batch's rows are replaced when the batch is chunked, in one
transaction, so indexing costs time proportional to the batch, never to the corpus.

Tokens: lower-cased runs of letters and digits (any script). The query is tokenized by the same
expression, so index and query always agree.
"""

TOKEN_PATTERN = r"[\p{L}\p{N}]+"
BM25_K1, BM25_B = 1.2, 0.75

SCHEMA = """
CREATE TABLE IF NOT EXISTS search_terms (
    chunk_id VARCHAR NOT NULL,
    batch_id VARCHAR NOT NULL,
    term VARCHAR NOT NULL,
    tf INTEGER NOT NULL          -- occurrences of term in the chunk
);
CREATE TABLE IF NOT EXISTS search_chunks (
    chunk_id VARCHAR NOT NULL,
    batch_id VARCHAR NOT NULL,
    n_terms INTEGER NOT NULL     -- the chunk's length in tokens, for BM25's length normalisation
);
"""

DELETE_BATCH = ["DELETE FROM search_terms WHERE batch_id = $batch", "DELETE FROM search_chunks WHERE batch_id = $batch"]

INDEX_BATCH = [
    f"""INSERT INTO search_terms
        SELECT chunk_id, batch_id, term, count(*)::INTEGER FROM (
            SELECT chunk_id, batch_id, unnest(regexp_extract_all(lower(text), '{TOKEN_PATTERN}')) AS term
            FROM chunks WHERE batch_id = $batch)
        GROUP BY chunk_id, batch_id, term""",
    """INSERT INTO search_chunks
        SELECT chunk_id, batch_id, sum(tf)::INTEGER FROM search_terms WHERE batch_id = $batch
        GROUP BY chunk_id, batch_id""",
]

# batches whose chunks are not in the index (a warehouse written before search existed, or a killed run)
UNINDEXED_BATCHES = """
SELECT DISTINCT batch_id FROM chunks
EXCEPT SELECT DISTINCT batch_id FROM search_chunks
"""

QUERY_TERMS = f"SELECT DISTINCT unnest(regexp_extract_all(lower($query), '{TOKEN_PATTERN}')) AS term"

BM25 = f"""
WITH q AS ({QUERY_TERMS}),
stats AS (SELECT count(*)::DOUBLE AS n, avg(n_terms) AS avgdl FROM search_chunks),
matched AS (SELECT chunk_id, term, tf FROM search_terms WHERE term IN (SELECT term FROM q)),
df AS (SELECT term, count(*)::DOUBLE AS df FROM matched GROUP BY term)
SELECT m.chunk_id,
       sum(ln(1 + (s.n - df.df + 0.5) / (df.df + 0.5))
           * m.tf * ({BM25_K1} + 1) / (m.tf + {BM25_K1} * (1 - {BM25_B} + {BM25_B} * c.n_terms / s.avgdl))) AS score
FROM matched m JOIN df USING (term) JOIN search_chunks c USING (chunk_id) CROSS JOIN stats s
GROUP BY m.chunk_id
ORDER BY score DESC, m.chunk_id
LIMIT $limit
"""

# BM25's ceiling for this query: every query term once in a chunk of average length (the sum of their
# idf). A chunk's BM25 over it is the share of the query's weight it matches: ~1 for a pasted line.
BM25_CEILING = f"""
WITH q AS ({QUERY_TERMS}),
stats AS (SELECT count(*)::DOUBLE AS n FROM search_chunks),
df AS (SELECT q.term, count(t.chunk_id)::DOUBLE AS df FROM q LEFT JOIN search_terms t USING (term) GROUP BY q.term)
SELECT coalesce(sum(ln(1 + (s.n - df.df + 0.5) / (df.df + 0.5))), 0) FROM df CROSS JOIN stats s
"""

# vectors are L2-normalised, so the inner product is the cosine
VECTOR = """
SELECT chunk_id, list_inner_product(embedding, $vector::FLOAT[]) AS score
FROM embeddings WHERE model = $model
ORDER BY score DESC, chunk_id
LIMIT $limit
"""

VECTOR_OF = """
SELECT chunk_id, list_inner_product(embedding, $vector::FLOAT[]) AS score
FROM embeddings WHERE model = $model AND chunk_id IN (SELECT unnest($ids::VARCHAR[]))
"""

HITS = """
SELECT c.chunk_id, c.doc_id, c.page_start, c.page_end, c.text, d.source_file
FROM chunks c LEFT JOIN documents d USING (doc_id)
WHERE c.chunk_id IN (SELECT unnest($ids::VARCHAR[]))
"""

# the pages a multi-page hit spans, to tell on which one the matching text is
PAGES_OF_HITS = """
SELECT p.doc_id, p.page, p.text
FROM pages p JOIN (SELECT unnest($docs::VARCHAR[]) AS doc_id, unnest($first::INTEGER[]) AS a,
                          unnest($last::INTEGER[]) AS b) r
  ON p.doc_id = r.doc_id AND p.page BETWEEN r.a AND r.b
"""
