import random

import pytest

from pipeline_project.defs.documents.chunking import chunk_document
from pipeline_project.lib.embedder import EmbedderResource


@pytest.fixture(scope="module")
def tokenizer():
    return EmbedderResource().tokenizer()


def two_pages():
    rng = random.Random(7)
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda".split()
    p1 = " ".join(rng.choice(words) for _ in range(700))
    p2 = " ".join(rng.choice(words) for _ in range(300))
    return p1 + "\n" + p2, [[0, len(p1), 1], [len(p1) + 1, len(p1) + 1 + len(p2), 2]]


def test_chunks_respect_token_budget_overlap_and_pages(tokenizer):
    text, spans = two_pages()
    chunks = chunk_document("doc", text, spans, tokenizer, chunk_tokens=200, overlap_tokens=40)
    assert all(c.n_tokens <= 200 for c in chunks)
    assert len(chunks) == 7
    # consecutive chunks share their overlap
    assert chunks[0].text[-60:] in chunks[1].text
    assert chunks[0].page_start == 1 and chunks[-1].page_end == 2
    assert any(c.page_start == 1 and c.page_end == 2 for c in chunks)


def test_chunk_ids_are_content_hashes(tokenizer):
    text, spans = two_pages()
    first = chunk_document("doc", text, spans, tokenizer)
    again = chunk_document("doc", text, spans, tokenizer)
    other_doc = chunk_document("other", text, spans, tokenizer)
    assert [c.chunk_id for c in first] == [c.chunk_id for c in again]
    assert not {c.chunk_id for c in first} & {c.chunk_id for c in other_doc}
    assert chunk_document("doc", "   ", [[0, 3, 1]], tokenizer) == []


def test_overlap_must_be_smaller_than_chunk(tokenizer):
    with pytest.raises(ValueError):
        chunk_document("d", "some text", [], tokenizer, chunk_tokens=10, overlap_tokens=10)
