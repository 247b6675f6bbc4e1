"""The item ledger: one row per item and stage, attempts that end in the dead letters, re-queueing."""

from pipeline_project.lib import ledger


def test_recording_the_same_outcome_twice_leaves_one_row(warehouse):
    items = ledger.Ledger(warehouse, "documents")
    items.done("batch-1", "ocr", ["doc-a", "doc-b"], label="a.pdf")
    items.done("batch-1", "ocr", ["doc-a"])  # a re-run after a crash
    rows = items.rows(stage="ocr")
    assert [(r.item_id, r.state, r.partition_key) for r in rows] == [("doc-a", "done", "batch-1"),
                                                                    ("doc-b", "done", "batch-1")]
    assert rows[0].label == "a.pdf"  # kept when a later write has none


def test_failures_are_retried_until_the_attempts_run_out(warehouse):
    pages = ledger.Ledger(warehouse, "drawings", max_attempts=3)
    for attempt in range(1, 4):
        pages.start("cmp-1", "diff", ["page-3"])
        pages.fail("cmp-1", "diff", "page-3", f"registration failed (try {attempt})")
        (row,) = pages.rows(stage="diff")
        assert row.attempts == attempt
        assert row.state == ("failed" if attempt < 3 else "dead_letter")
    assert row.last_error == "registration failed (try 3)"


def test_done_clears_the_error_and_the_quarantine_path(warehouse):
    items = ledger.Ledger(warehouse, "web")
    items.fail("crawl-1", "fetch", "https://x/a", "HTTP 500", count_attempt=True)
    items.done("crawl-1", "fetch", ["https://x/a"])
    (row,) = items.rows()
    assert (row.state, row.last_error, row.attempts) == ("done", None, 1)


def test_requeue_leaves_quarantined_inputs_alone(warehouse):
    docs = ledger.Ledger(warehouse, "documents")
    docs.dead_letter("b1", "intake", "b1/0001-x.pdf", "not a PDF", quarantine_path="/q/x.pdf")
    docs.dead_letter("b1", "ocr", "doc-1", "OCR failed: timeout")
    docs.fail("b2", "ocr", "doc-2", "tesseract crashed", count_attempt=True)
    with warehouse.get_connection() as conn:
        assert ledger.requeue(conn) == {"documents": {"b2": 1}}  # failed only, by default
        assert ledger.requeue(conn, dead_letters=True) == {"documents": {"b1": 1}}
        assert ledger.counts(conn) == {"documents": {"intake": {"dead_letter": 1},
                                                      "ocr": {"pending": 2}}}
    (again,) = docs.rows(stage="ocr", item_ids=["doc-1"])
    assert again.attempts == 0 and again.last_error == "OCR failed: timeout"  # the reason stays visible


def test_every_state_is_one_of_five():
    import pytest

    with pytest.raises(ValueError, match="ledger state must be one of"):
        ledger.Entry("documents", "x", "ocr", "finished")
