"""Vector search in the warehouse, behind one function for both backends.

`nearest(conn, vector, k, model=...)` returns the k rows of an embeddings table whose vectors have the
largest inner product with `vector` (the project's vectors are normalised, so that is cosine
similarity), best first, as (key, score) pairs. Callers build on it (ranking, hybrid lexical + vector
search) without writing vector SQL of their own.

- DuckDB: one scan of the model's vectors into NumPy and a matrix product (exact).
- PostgreSQL: pgvector's inner-product operator `<#>` in SQL (exact: a sequential scan; an HNSW
  index on `(embedding::vector(N))` per model is what to add at millions of vectors, docs/POSTGRES.md).
"""

from __future__ import annotations

import numpy as np

_IDENT = set("abcdefghijklmnopqrstuvwxyz_0123456789")


def _ident(name: str) -> str:
    if not name or set(name.lower()) - _IDENT:
        raise ValueError(f"not a plain SQL name: {name!r}")
    return name


def vector_literal(vector) -> str:
    """A vector as pgvector's text form, '[x,y,...]'."""
    return "[" + ",".join(repr(float(v)) for v in np.asarray(vector, dtype=np.float32).tolist()) + "]"


def nearest(conn, vector, k: int, *, model: str, table: str = "embeddings", key: str = "chunk_id",
            column: str = "embedding") -> list[tuple[str, float]]:
    """The k keys of `table` (rows of `model`) nearest to `vector` by inner product, best first."""
    table, key, column = _ident(table), _ident(key), _ident(column)
    if k <= 0:
        return []
    if getattr(conn, "backend", "duckdb") == "postgres":
        rows = conn.execute(
            f"SELECT {key}, -({column} <#> ?::vector) AS score FROM {table} WHERE model = ? "
            f"ORDER BY {column} <#> ?::vector LIMIT ?",
            [vector_literal(vector), model, vector_literal(vector), int(k)]).fetchall()
        return [(r[0], float(r[1])) for r in rows]
    found = conn.execute(f"SELECT {key}, {column} FROM {table} WHERE model = ?", [model]).fetch_arrow_table()
    if found.num_rows == 0:
        return []
    values = found.column(column).combine_chunks()
    matrix = values.values.to_numpy(zero_copy_only=False).reshape(found.num_rows, -1)
    scores = matrix @ np.asarray(vector, dtype=np.float32)
    top = np.argsort(-scores, kind="stable")[:k]
    keys = found.column(key)
    return [(keys[int(i)].as_py(), float(scores[i])) for i in top]
