from pipeline_project import samples
from pipeline_project.defs.documents import batching
from pipeline_project_tests.conftest import age

POLICY = batching.BatchPolicy(min_pages=10, max_wait_seconds=30, min_file_age_seconds=1)


def waiting(path, pages, first_seen):
    return batching.WaitingFile(path=path, size=1, mtime=first_seen, pages=pages, first_seen=first_seen)


def test_full_batches_are_cut_and_the_remainder_rides_along():
    files = [waiting(f"f{i}.pdf", 4, 100.0 + i) for i in range(7)]  # 28 pages
    batches = batching.plan_batches(files, POLICY, now=110.0, idle=False)
    # the 4-page tail joins the last batch instead of queueing alone behind the big ones
    assert [sum(f.pages for f in b) for b in batches] == [12, 16]
    assert [f.path for b in batches for f in b] == [f.path for f in files]  # oldest first, none lost


def test_remainder_goes_when_old_enough_or_when_nothing_runs():
    files = [waiting("lone.pdf", 1, 100.0)]
    assert batching.plan_batches(files, POLICY, now=110.0, idle=False) == []
    assert len(batching.plan_batches(files, POLICY, now=131.0, idle=False)) == 1
    assert len(batching.plan_batches(files, POLICY, now=101.0, idle=True)) == 1


def test_scan_skips_partial_hidden_and_fresh_files(tmp_path):
    inbox = tmp_path / "inbox"
    done = samples.born_digital_pdf(inbox / "sub" / "done.pdf", pages=3)
    partial = inbox / "download.pdf.part"
    partial.write_bytes(b"%PDF-")
    hidden = inbox / ".partial" / "x.pdf"
    hidden.parent.mkdir()
    hidden.write_bytes(b"%PDF-")
    age([done, partial, hidden])
    fresh = samples.born_digital_pdf(inbox / "fresh.pdf", pages=1)  # just written: may still be copying

    found = batching.scan_inbox(inbox, {}, POLICY, now=__import__("time").time())
    assert [(f.path, f.pages) for f in found] == [("sub/done.pdf", 3)]
    assert fresh.exists()


def test_claim_moves_files_out_of_the_inbox_and_is_repeatable(tmp_path):
    inbox, batches_dir = tmp_path / "inbox", tmp_path / "batches"
    a = samples.born_digital_pdf(inbox / "a" / "report.pdf", pages=1)
    b = samples.born_digital_pdf(inbox / "b" / "report.pdf", pages=1, seed=2)  # same name, other folder
    age([a, b])
    files = batching.scan_inbox(inbox, {}, POLICY, now=__import__("time").time())
    batch_id = batching.claim_batch(batches_dir, inbox, files)

    incoming = sorted(p.name for p in (batches_dir / batch_id / "incoming").iterdir())
    assert incoming == ["00000-report.pdf", "00001-report.pdf"]
    assert not a.exists() and not b.exists()
    batching.finish_claim(batches_dir / batch_id, inbox)  # after a crash: nothing moves twice
    assert batching.batch_ids_on_disk(batches_dir) == [batch_id]


def test_a_big_drop_is_counted_over_several_ticks_oldest_first(tmp_path):
    inbox = tmp_path / "inbox"
    paths = [samples.born_digital_pdf(inbox / f"p{i}.pdf", pages=1, seed=i) for i in range(3)]
    for i, path in enumerate(paths):  # p0 oldest
        __import__("os").utime(path, (1000.0 + i, 1000.0 + i))
    known = {}
    seen = []
    for tick in range(3):  # no time left for counting: one new file per tick, the oldest first
        found = batching.scan_inbox(inbox, known, POLICY, now=2000.0 + tick, count_budget_seconds=0)
        seen.append([f.path for f in found])
        known = {f.path: {"size": f.size, "mtime": f.mtime, "pages": f.pages, "first_seen": f.first_seen}
                 for f in found}
    assert seen == [["p0.pdf"], ["p0.pdf", "p1.pdf"], ["p0.pdf", "p1.pdf", "p2.pdf"]]
