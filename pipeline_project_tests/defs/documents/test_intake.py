from pipeline_project import samples
from pipeline_project.defs.documents import warehouse_io
from pipeline_project.defs.documents.intake import count_pages, inspect_pdf
from pipeline_project.lib.warehouse import connect


def test_each_kind_of_bad_input_gets_a_readable_reason(tmp_path):
    good = samples.born_digital_pdf(tmp_path / "good.pdf", pages=2)
    expected = samples.bad_files(tmp_path / "bad", good)
    verdicts = {name: inspect_pdf(tmp_path / "bad" / name) for name in expected}

    assert {n for n, v in verdicts.items() if v.ok} == {n for n, e in expected.items() if e == "accepted"}
    assert "empty file" in verdicts["empty.pdf"].reason
    assert "HTML page" in verdicts["login_page.pdf"].reason
    assert "PNG image" in verdicts["picture.pdf"].reason
    assert "password-protected" in verdicts["locked.pdf"].reason
    assert "truncated" in verdicts["truncated.pdf"].reason
    # Damaged but repairable files are accepted with every page readable.
    assert verdicts["broken_xref.pdf"].pages == 2
    assert verdicts["junk_header.pdf"].pages == 2


def test_page_count_of_unreadable_file_is_one(tmp_path):
    bad = tmp_path / "x.pdf"
    bad.write_bytes(b"not a pdf")
    assert count_pages(bad) == 1
    assert count_pages(samples.born_digital_pdf(tmp_path / "g.pdf", pages=4)) == 4


def test_a_file_recorded_on_the_whole_second_is_stored_like_the_others(warehouse):
    """isoformat() drops the microseconds when they are 0 (seen failing a batch in CI, on every retry)."""
    base = {"status": "accepted", "doc_id": "d", "pages": 1, "bytes": 10, "reason": "", "stored_path": None}
    records = [dict(base, slot="1.pdf", source_file="a.pdf", recorded_at="2026-12-01T01:39:01.992623+00:00"),
               dict(base, slot="2.pdf", source_file="b.pdf", recorded_at="2026-12-01T01:39:02+00:00")]

    warehouse_io.save_intake(warehouse, "batch-1", records)

    with connect(warehouse) as conn:
        stored = conn.execute("SELECT source_file, strftime(recorded_at, '%H:%M:%S.%f') FROM pdf_intake "
                              "ORDER BY source_file").fetchall()
    assert stored == [("a.pdf", "01:39:01.992623"), ("b.pdf", "01:39:02.000000")]
