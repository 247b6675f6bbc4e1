"""One quarantine for every domain: one reason-file format; the owner decides copy or move."""

from pipeline_project.lib import quarantine


def test_pipeline_owned_files_are_moved_and_explained(tmp_path):
    source = tmp_path / "batches" / "b1" / "incoming" / "00001-login.pdf"
    source.parent.mkdir(parents=True)
    source.write_bytes(b"<html>sign in</html>")
    put = quarantine.quarantine_file(source, root=tmp_path, domain="documents", group="b1", name="crawl/login.pdf",
                                     reason="not a PDF: the file is an HTML page", owner=quarantine.PIPELINE,
                                     item_id="b1/00001-login.pdf")
    assert put.path == tmp_path / "quarantine" / "documents" / "b1" / "crawl" / "login.pdf"
    assert put.path.read_bytes() == b"<html>sign in</html>" and not source.exists()
    fields = quarantine.read_reason(put.path)
    assert fields["reason"] == "not a PDF: the file is an HTML page"
    assert fields["domain"] == "documents" and fields["item"] == "b1/00001-login.pdf"
    assert fields["action"].startswith("moved") and fields["source"] == str(source)
    # repeating it (a re-run after a crash) changes nothing
    again = quarantine.quarantine_file(source, root=tmp_path, domain="documents", group="b1", name="crawl/login.pdf",
                                       reason="not a PDF: the file is an HTML page", owner=quarantine.PIPELINE)
    assert again.path.read_bytes() == b"<html>sign in</html>"


def test_user_owned_files_are_copied_and_left_in_place(tmp_path):
    raw = tmp_path / "archive" / "2023" / "broken.mat"
    raw.parent.mkdir(parents=True)
    raw.write_bytes(b"MATLAB 5.0 MAT-file garbage")
    put = quarantine.quarantine_file(raw, root=tmp_path / "data", domain="observations", group="plant_a",
                                     name="2023/broken.mat", reason="corrupt MAT file", owner=quarantine.USER)
    assert raw.exists() and put.path.read_bytes() == raw.read_bytes()
    assert quarantine.read_reason(put.path)["action"].startswith("copied")


def test_a_name_never_climbs_out_of_the_quarantine(tmp_path):
    source = tmp_path / "x"
    source.write_bytes(b"x")
    put = quarantine.quarantine_file(source, root=tmp_path / "data", domain="drawings", group="job",
                                     name="../../../etc/passwd", reason="bad", owner=quarantine.USER)
    assert put.path == tmp_path / "data" / "quarantine" / "drawings" / "job" / "etc" / "passwd"
