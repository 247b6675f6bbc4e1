"""The bibliography assets on a real (temporary) Dagster instance and DuckDB warehouse, downstream of
the real documents assets, against the replay server: references extracted from stored pages,
enriched, the cited open-access PDF fetched into the inbox and its own references extracted
one level deeper; outages leave references waiting in the ledger, and a later run finishes them."""

from __future__ import annotations

import datetime as dt
import os
import random
import time

import dagster as dg
import duckdb
import pytest

from pipeline_project import samples
from pipeline_project.defs.bibliography import resources as bib_resources
from pipeline_project.defs.bibliography.assets import bibliography_assets, with_metadata
from pipeline_project.defs.bibliography.resources import BibliographyResource
from pipeline_project.defs.bibliography.sensors import batches_to_retry, bibliography_retry_sensor
from pipeline_project.defs.documents.assets import documents, ocr_jsonl, raw_pdfs
from pipeline_project.defs.documents.ocr.local import LocalOcrEngine
from pipeline_project.defs.documents.partitions import ocr_batches
from pipeline_project.defs.documents.sensors import batch_policy, cut_batches
from pipeline_project.samples import papers
from pipeline_project.samples.api_replay import CROSSREF, OPENALEX, CitedWork, cite


def _age(folder) -> None:
    stamp = time.time() - 5  # the batcher leaves files alone while they may still be copying
    for path in folder.rglob("*.pdf"):
        os.utime(path, (stamp, stamp))


def ingest_inbox(instance, resources, storage) -> list[str]:
    """What the documents domain does with the inbox: batches cut, pages stored in the warehouse."""
    _age(storage.inbox)
    ids, _, _ = cut_batches(instance, storage, None, batch_policy(), force=True)
    instance.add_dynamic_partitions(ocr_batches.name, ids)
    for batch_id in ids:
        assert dg.materialize([raw_pdfs, ocr_jsonl, documents], partition_key=batch_id, resources=resources,
                              instance=instance).success
    return ids


def rows(storage, sql: str, params=()) -> list[tuple]:
    with duckdb.connect(str(storage.warehouse_path), read_only=True) as conn:
        return conn.execute(sql, list(params)).fetchall()


def bib_resource(replay, **overrides) -> BibliographyResource:
    settings = dict(crossref_base_url=replay.base_url(CROSSREF), openalex_base_url=replay.base_url(OPENALEX),
                    crossref_mailto="tests@example.org", wait_seconds=0, breaker_failures=2,
                    breaker_reset_seconds=0.5, timeout_seconds=5, download_workers=2)
    return BibliographyResource(**{**settings, **overrides})


@pytest.fixture
def bib(replay, storage, warehouse):
    bib_resources._services.cache_clear()  # fresh throttles and breakers for each test
    yield {"storage": storage, "warehouse": warehouse, "ocr_engine": LocalOcrEngine(),
           "bibliography": bib_resource(replay)}
    bib_resources._services.cache_clear()


def _works(replay):
    """Three recorded Crossref works, two OpenAlex works (one with an open-access PDF served by the
    replay server), and one work no service holds."""
    def closed(record: dict) -> bool:  # no open-access PDF link in the recording
        return not any("creativecommons" in (lic.get("URL") or "") for lic in record.get("license") or []) \
            and not (record.get("best_oa_location") or {}).get("pdf_url")

    crossref = [r for r in replay.catalog.crossref.values()
                if r.get("author") and len(r["title"][0]) > 30 and closed(r)][:3]
    openalex = [w for w in replay.catalog.openalex_works() if w.get("authorships") and w.get("doi") and closed(w)][:2]
    cited = [cite(r, CROSSREF, n) for n, r in enumerate(crossref, 1)]
    cited += [cite(w, OPENALEX, n, with_doi=(n == 4)) for n, w in enumerate(openalex, 4)]
    unknown = papers.random_reference(random.Random(3), 1)
    unknown.doi = unknown.arxiv = None
    cited.append(CitedWork(papers.STYLES["ieee"](unknown, 6), None, "unknown", None))
    return cited, openalex[1]


def test_references_flow_from_pages_to_the_cited_pdf_and_one_level_deeper(replay, bib, storage):
    cited, open_access = _works(replay)
    # the open-access work's PDF (served by the replay server) itself cites two recorded works
    deeper = [cite(w, OPENALEX, n, with_doi=True).text for n, w in enumerate(replay.catalog.openalex_works()[2:4], 1)]
    pdf = papers.paper_citing(storage.root_path / "tmp" / "cited.pdf", deeper, seed=9).read_bytes()
    replay.serve_pdf_for(open_access["id"], "cited.pdf", pdf)
    for work in replay.catalog.openalex_works()[2:4]:  # their PDFs exist too, but lie beyond depth 1
        replay.serve_pdf_for(work["id"], f"{work['id'][-8:]}.pdf", pdf)
    papers.paper_citing(storage.inbox / "paper.pdf", [c.text for c in cited], seed=1)
    samples.born_digital_pdf(storage.inbox / "report.pdf", pages=2, seed=2)

    with dg.instance_for_test() as instance:
        (batch,) = ingest_inbox(instance, bib, storage)
        result = dg.materialize(bibliography_assets, partition_key=batch, resources=bib, instance=instance)
        assert result.success
        assert all(c.passed for c in result.get_asset_check_evaluations())

        outcomes = dict(rows(storage, "SELECT outcome, count(*) FROM bib_documents GROUP BY outcome"))
        assert outcomes == {"lists found": 1, "no reference list": 1}
        statuses = rows(storage, """SELECT n.ordinal, w.status, w.doi, w.openalex_id, w.service FROM no_metadata n
                                    JOIN with_metadata w USING (ref_id) ORDER BY n.ordinal""")
        assert len(statuses) == 6
        for (ordinal, status, doi, openalex_id, _), work in zip(statuses, cited):
            if work.work_id:
                assert status == "matched" and work.work_id in (doi, openalex_id), (ordinal, work.text)
            else:
                assert status == "unmatched"
        # one ledger row per reference per stage, all done
        assert rows(storage, """SELECT stage, state, count(*) FROM item_ledger WHERE domain = 'bibliography'
                                AND stage IN ('extract', 'enrich') GROUP BY ALL ORDER BY ALL""") == [
            ("enrich", "done", 6), ("extract", "done", 6)]
        # the open-access PDF was fetched into the inbox
        (decision, depth), = rows(storage, "SELECT decision, depth FROM to_download_references")
        assert (decision, depth) == ("queued", 1)
        (outcome, sha), = rows(storage, "SELECT outcome, sha256 FROM downloaded_references")
        assert outcome == "in inbox" and any(p.name.startswith("cited-") for p in storage.inbox.glob("*.pdf"))

        # it comes back through the documents pipeline; its references are extracted at depth 1 ...
        (second,) = ingest_inbox(instance, bib, storage)
        assert dg.materialize(bibliography_assets, partition_key=second, resources=bib, instance=instance).success
        assert rows(storage, "SELECT depth, references_found FROM bib_documents WHERE doc_id = ?", [sha]) == [(1, 2)]
        # ... and enriched, but the works it cites are not fetched: the crawl stops at depth 1
        assert {r[0] for r in rows(storage, "SELECT status FROM with_metadata WHERE batch_id = ?", [second])} == {"matched"}
        assert {r[0] for r in rows(storage, "SELECT decision FROM to_download_references WHERE batch_id = ?",
                                   [second])} == {"beyond citation depth"}

        # re-running the first batch changes nothing and fetches nothing again
        before = rows(storage, "SELECT count(*) FROM no_metadata UNION ALL SELECT count(*) FROM with_metadata "
                               "UNION ALL SELECT count(*) FROM downloaded_references")
        assert dg.materialize(bibliography_assets, partition_key=batch, resources=bib, instance=instance).success
        assert rows(storage, "SELECT count(*) FROM no_metadata UNION ALL SELECT count(*) FROM with_metadata "
                             "UNION ALL SELECT count(*) FROM downloaded_references") == before


def test_while_both_services_are_down_references_wait_and_the_retry_sensor_finishes_them(replay, bib, storage):
    cited, _ = _works(replay)
    papers.paper_citing(storage.inbox / "paper.pdf", [c.text for c in cited], seed=4)
    replay.faults.set_down(CROSSREF, "reset")
    replay.faults.set_down(OPENALEX, "503")
    with dg.instance_for_test() as instance:
        (batch,) = ingest_inbox(instance, bib, storage)
        result = dg.materialize(bibliography_assets, partition_key=batch, resources=bib, instance=instance)
        assert result.success
        assert rows(storage, "SELECT DISTINCT status FROM with_metadata") == [("waiting",)]
        waiting = rows(storage, "SELECT state, last_error FROM item_ledger WHERE stage = 'enrich'")
        assert len(waiting) == 6 and {s for s, _ in waiting} == {"pending"}
        assert all("waiting for" in e and "crossref" in e for _, e in waiting)
        (lost,) = [c for c in result.get_asset_check_evaluations() if c.check_name == "no_reference_lost"]
        assert not lost.passed and lost.severity == dg.AssetCheckSeverity.WARN  # none lost, some waiting

        later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
        assert batch in batches_to_retry(bib["warehouse"], now=later)
        replay.faults.set_down(CROSSREF, None)
        replay.faults.set_down(OPENALEX, None)
        with duckdb.connect(str(storage.warehouse_path)) as conn:  # as if the retry time had come
            conn.execute("UPDATE item_ledger SET detail = json_object('retry_at', '2000-01-01T00:00:00+00:00') "
                         "WHERE stage = 'enrich'")
        context = dg.build_sensor_context(instance=instance, resources={"warehouse": bib["warehouse"]})
        (request,) = bibliography_retry_sensor(context).run_requests
        assert request.partition_key == batch
        time.sleep(0.6)  # past the breakers' reset timeout: the first request is the half-open probe
        again = {**bib, "bibliography": bib_resource(replay, wait_seconds=30)}  # this run retries who waits
        assert dg.materialize([with_metadata], partition_key=batch, resources=again, instance=instance).success
        statuses = rows(storage, "SELECT status, reason FROM with_metadata")
        assert {s for s, _ in statuses} <= {"matched", "unmatched"}, statuses
        assert rows(storage, "SELECT DISTINCT state FROM item_ledger WHERE stage = 'enrich'") == [("done",)]


def test_a_pdf_link_that_gives_an_html_page_is_quarantined_with_its_reason(replay, bib, storage):
    cited, open_access = _works(replay)
    replay.serve_pdf_for(open_access["id"], "landing.pdf", b"<!DOCTYPE html><html><body>Sign in to read</body></html>")
    papers.paper_citing(storage.inbox / "paper.pdf", [c.text for c in cited], seed=5)
    with dg.instance_for_test() as instance:
        (batch,) = ingest_inbox(instance, bib, storage)
        result = dg.materialize(bibliography_assets, partition_key=batch, resources=bib, instance=instance)
        assert result.success
        (outcome,), = rows(storage, "SELECT outcome FROM downloaded_references")
        assert outcome == "not a PDF (quarantined)"
        (state, error, path), = rows(storage, "SELECT state, last_error, quarantine_path FROM item_ledger "
                                             "WHERE stage = 'download'")
        assert state == "dead_letter" and "HTML page" in error
        assert "HTML page" in open(path + ".reason.txt").read()
        (check,) = [c for c in result.get_asset_check_evaluations()
                    if c.asset_key == dg.AssetKey("downloaded_references")]
        assert not check.passed
        assert not list(storage.inbox.glob("cited-*"))  # nothing bad reaches the documents pipeline
