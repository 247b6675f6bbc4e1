"""Token-aware chunking with overlap, keeping the pages each chunk came from.

Windows are counted in the embedding model's own tokens, so a chunk never exceeds what the model
reads (all-MiniLM-L6-v2 truncates at 256 word pieces). Chunk ids are content hashes of
(document id, chunk text): the same document chunked the same way gives the same ids.
"""

from __future__ import annotations

import bisect
import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    doc_id: str
    chunk_index: int
    page_start: int
    page_end: int
    text: str
    n_tokens: int


def chunk_id_for(doc_id: str, text: str) -> str:
    return hashlib.sha256(f"{doc_id}\x00{text}".encode("utf-8")).hexdigest()[:32]


def _page_at(char: int, span_starts: list[int], spans: list[list[int]]) -> int:
    i = max(bisect.bisect_right(span_starts, char) - 1, 0)
    return int(spans[i][2])


def chunk_document(
    doc_id: str,
    text: str,
    spans: list[list[int]],
    tokenizer,
    *,
    chunk_tokens: int = 200,
    overlap_tokens: int = 40,
) -> list[Chunk]:
    """Split a document's text into windows of `chunk_tokens` tokens, `overlap_tokens` shared."""
    if overlap_tokens >= chunk_tokens:
        raise ValueError("overlap_tokens must be smaller than chunk_tokens")
    if not text.strip():
        return []
    offsets = [o for o in tokenizer.encode(text, add_special_tokens=False).offsets if o[1] > o[0]]
    if not offsets:
        return []
    span_starts = [int(s[0]) for s in spans] if spans else [0]
    spans = spans or [[0, len(text), 1]]
    chunks: list[Chunk] = []
    step = chunk_tokens - overlap_tokens
    start = 0
    seen: set[str] = set()
    while start < len(offsets):
        end = min(start + chunk_tokens, len(offsets))
        a, b = offsets[start][0], offsets[end - 1][1]
        piece = text[a:b].strip()
        cid = chunk_id_for(doc_id, piece)
        if piece and cid not in seen:  # a repeated window (e.g. boilerplate) is one chunk
            seen.add(cid)
            chunks.append(
                Chunk(
                    chunk_id=cid,
                    doc_id=doc_id,
                    chunk_index=len(chunks),
                    page_start=_page_at(a, span_starts, spans),
                    page_end=_page_at(max(b - 1, a), span_starts, spans),
                    text=piece,
                    n_tokens=end - start,
                )
            )
        if end == len(offsets):
            break
        start += step
    return chunks
