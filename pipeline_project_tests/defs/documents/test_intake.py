from pipeline_project import samples
from pipeline_project.defs.documents.intake import count_pages, inspect_pdf


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
