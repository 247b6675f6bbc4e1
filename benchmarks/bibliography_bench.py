"""Bibliography benchmark: enrichment within the services' limits, and extraction speed.

    .venv/bin/python benchmarks/bibliography_bench.py [--refs 1000] [--sequential-refs 150] [--latency 0.3]
                                                      [--papers 60] [--skip-enrichment] [--skip-extraction]

Enrichment: references to recorded works (api_replay.cited_works: DOIs printed on 30 %, OCR noise on
5 %, 10 % citing works no service holds) against the Crossref/OpenAlex replay server running in its
own process with 300 ms latency per answer and the documented limits enforced (Crossref polite
pool 10 req/s with 3 in flight, OpenAlex 100 req/s). Figures come from the server's own books:
requests per service, the most seen in any one-second window and at once, 429s. Concurrent (the
product: 16 workers, the services' throttles) vs sequential (the plain one-process baseline: one
reference, one request at a time). Then the service lowers its limit below what the client assumes
(6 req/s announced in its headers): 429s before and after the client adapted (ceiling from the
headers; a 429 at the ceiling also widens the limiter's margin).
Extraction: ~10-page born-digital papers read through the documents domain's OCR engine (not
timed), then extract() timed per document: pages/s, with and without refextract; and the same work
as the no_metadata asset (Dagster run + DuckDB) on one batch.

Requires the recorded responses: ../shared/fixtures/apis (or PIPELINE_API_FIXTURES).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PeakRss, cpu_info, mib  # noqa: E402


# -- the replay server in its own process ---------------------------------------------------------------
def _serve(latency: float, crossref_polite_rate: float, urls, stop) -> None:
    from pipeline_project.samples.api_replay import CROSSREF, ApiReplay, Limits

    with ApiReplay(latency=latency) as server:
        server.limits[(CROSSREF, "polite")] = Limits(crossref_polite_rate, 3)
        urls.put(server.url)
        stop.wait()


class ReplayProcess:
    def __init__(self, latency: float, crossref_polite_rate: float = 10):
        ctx = mp.get_context("spawn")
        self.urls, self.stop = ctx.Queue(), ctx.Event()
        self.process = ctx.Process(target=_serve, args=(latency, crossref_polite_rate, self.urls, self.stop), daemon=True)

    def __enter__(self) -> str:
        self.process.start()
        return self.urls.get(timeout=60)

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.process.join(timeout=10)


def books(url: str) -> dict:
    import httpx

    return httpx.get(f"{url}/_books", timeout=30).json()


# -- enrichment -----------------------------------------------------------------------------------------
def _references(count: int, seed: int = 42):
    from pipeline_project.defs.bibliography.enrich import RefInput
    from pipeline_project.defs.bibliography.parsing import parse_entries
    from pipeline_project.samples.api_replay import Catalog, cited_works, default_fixtures

    works = cited_works(Catalog(default_fixtures()), count, seed=seed)
    parsed = parse_entries([w.text for w in works])
    return works, [RefInput(f"r{i}", w.text, f.as_dict()) for i, (w, (f, _)) in enumerate(zip(works, parsed))]


def _services(url: str):
    from pipeline_project.defs.bibliography.gateway import Service
    from pipeline_project.defs.bibliography.services import CROSSREF, OPENALEX, crossref_settings, openalex_settings

    return {CROSSREF: Service(crossref_settings(base_url=f"{url}/crossref", mailto="bench@example.org")),
            OPENALEX: Service(openalex_settings(base_url=f"{url}/openalex", api_key="bench-key"))}


def _correct(work, outcome) -> bool:
    if work.work_id is None:
        return outcome.status == "unmatched"
    return outcome.match is not None and work.work_id in (outcome.match.doi, outcome.match.openalex_id)


def enrichment_run(url: str, works, refs, workers: int, label: str, latency: float) -> dict:
    from pipeline_project.defs.bibliography.enrich import Enricher
    from pipeline_project.defs.bibliography.pool import enrich_all

    services = _services(url)
    started = time.monotonic()
    out = enrich_all(Enricher(services), refs, workers=workers, deadline_seconds=600)
    seconds = time.monotonic() - started
    seen = books(url)
    result = {"label": label, "references": len(refs), "seconds": round(seconds, 1),
              "refs_per_s": round(len(refs) / seconds, 2), "outcomes": dict(Counter(o.status for o in out.values())),
              "correct": sum(_correct(w, out[r.ref_id]) for w, r in zip(works, refs)), "services": {}}
    for name, svc in services.items():
        b = seen.get(name, {"requests": 0, "arrivals": [], "answers": []})
        span = (max(b["arrivals"]) - min(b["arrivals"])) if len(b["arrivals"]) > 1 else 0.0
        rate = b["requests"] / span if span else 0.0
        ceiling = min(svc.settings.rate, svc.settings.concurrency / latency) if latency else svc.settings.rate
        result["services"][name] = {
            "requests": b["requests"], "req_per_s": round(rate, 2), "allowed_per_s": svc.settings.rate,
            "in_flight_allowed": svc.settings.concurrency, "ceiling_with_latency_per_s": round(ceiling, 2),
            "of_allowed": round(rate / svc.settings.rate, 3), "of_ceiling": round(rate / ceiling, 3) if ceiling else 0,
            "max_in_any_second": b.get("max_per_second"), "max_in_flight": b.get("max_concurrent"),
            "429s": b.get("statuses", {}).get("429", 0), "limit_violations": b.get("limit_violations")}
        svc.close()
    return result


def adaptation_run(latency: float, count: int) -> dict:
    """The service announces (and enforces) 6 req/s where the client assumed 10."""
    works, refs = _references(count, seed=7)
    with ReplayProcess(latency, crossref_polite_rate=6) as url:
        from pipeline_project.defs.bibliography.enrich import Enricher
        from pipeline_project.defs.bibliography.pool import enrich_all

        services = _services(url)
        started = time.monotonic()
        out = enrich_all(Enricher(services), refs, workers=16, deadline_seconds=600)
        seconds = time.monotonic() - started
        b = books(url)["crossref"]
        first = min(b["arrivals"]) if b["arrivals"] else 0
        limited = [t - first for t, s in b["answers"] if s == 429]
        return {"label": "service lowered its limit to 6 req/s", "seconds": round(seconds, 1),
                "client_ceiling_learnt": services["crossref"].throttle.ceiling,
                "client_margin_learnt": services["crossref"].throttle.margin,
                "429s_total": len(limited), "429s_after_first_5s": sum(1 for t in limited if t > 5),
                "max_in_any_second": b["max_per_second"],
                "outcomes": dict(Counter(o.status for o in out.values()))}


def enrichment(args) -> list[dict]:
    results = []
    works, refs = _references(args.refs)
    with ReplayProcess(args.latency) as url:
        with PeakRss(os.getpid()) as rss:
            results.append(enrichment_run(url, works, refs, 16, "concurrent (16 workers)", args.latency))
        results[-1]["peak_rss"] = mib(rss.peak)
    with ReplayProcess(args.latency) as url:
        n = min(args.sequential_refs, len(refs))
        results.append(enrichment_run(url, works[:n], refs[:n], 1, "sequential (1 reference at a time)", args.latency))
    results.append(adaptation_run(args.latency, 200))
    conc, seq = results[0], results[1]
    results.append({"label": "speed-up concurrent / sequential (references per second)",
                    "ratio": round(conc["refs_per_s"] / seq["refs_per_s"], 2)})
    return results


# -- extraction -----------------------------------------------------------------------------------------
def _page_texts(paths: list[Path], work: Path) -> list[list[tuple[int, str]]]:
    import hashlib

    from pipeline_project.defs.documents.ocr.base import OcrInput
    from pipeline_project.defs.documents.ocr.local import LocalOcrEngine
    from pipeline_project.defs.documents.olmocr_format import pages_from_record

    inputs = [OcrInput(hashlib.sha256(p.read_bytes()).hexdigest(), p, p.name, 0) for p in paths]
    result = LocalOcrEngine().ocr_batch(None, "bench", inputs, work)
    return [[(p.page, p.text) for p in pages_from_record(r)] for r in result.records]


def extraction(args) -> list[dict]:
    from pipeline_project.defs.bibliography.extraction import extract
    from pipeline_project.samples.papers import benchmark_papers

    results = []
    with tempfile.TemporaryDirectory(prefix="bib-bench-") as tmp:
        truths = benchmark_papers(Path(tmp) / "papers", args.papers)
        docs = _page_texts([t.path for t in truths], Path(tmp) / "ocr")
        pages = sum(len(d) for d in docs)
        expected = sum(len(t.references) for t in truths)
        from pipeline_project.defs.bibliography.parsing import refextract_parse

        started = time.perf_counter()
        refextract_parse(["[1] Smith J. A title. Journal. 2001."])  # its knowledge bases load once per process
        results.append({"label": "refextract knowledge bases loaded", "seconds": round(time.perf_counter() - started, 2)})
        for label, use in (("extract() own parser + refextract for gaps", True), ("extract() own parser only", False)):
            started = time.perf_counter()
            found = [extract(d, use_refextract=use).references for d in docs]
            seconds = time.perf_counter() - started
            results.append({"label": label, "documents": len(docs), "pages": pages, "seconds": round(seconds, 2),
                            "pages_per_s": round(pages / seconds, 1),
                            "references_found": sum(len(f) for f in found), "references_expected": expected,
                            "years_right": sum(r.fields.year == e.year for f, t in zip(found, truths)
                                               for r, e in zip(f, t.references)),
                            "dois_right": sum(r.fields.doi == e.doi for f, t in zip(found, truths)
                                              for r, e in zip(f, t.references))})
        results.append(_asset_run(docs, Path(tmp) / "data"))
    return results


def _asset_run(docs, root: Path) -> dict:
    """The same documents as one batch of the no_metadata asset: Dagster run, DuckDB reads and writes."""
    import dagster as dg
    import duckdb
    import pandas as pd

    from pipeline_project.defs.bibliography.assets import no_metadata
    from pipeline_project.defs.documents.partitions import ocr_batches
    from pipeline_project.defs.documents.tables import ensure_schema
    from pipeline_project.lib.warehouse import WarehouseResource

    root.mkdir(parents=True)
    db = root / "warehouse.duckdb"
    rows = [{"doc_id": f"doc{i:04d}", "page": p, "batch_id": "bench", "method": "text_layer", "text": t}
            for i, d in enumerate(docs) for p, t in d]
    with duckdb.connect(str(db)) as conn:
        ensure_schema(conn)
        conn.register("p", pd.DataFrame(rows))
        conn.execute("INSERT INTO pages SELECT doc_id, page, batch_id, method, text FROM p")
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(ocr_batches.name, ["bench"])
        started = time.perf_counter()
        result = dg.materialize([no_metadata], partition_key="bench", instance=instance,
                                resources={"warehouse": WarehouseResource(database=str(db))},
                                run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}})
        seconds = time.perf_counter() - started
    pages = len(rows)
    meta = {k: v.value for k, v in result.get_asset_materialization_events()[0].materialization.metadata.items()}
    return {"label": "no_metadata asset (one batch: Dagster run + DuckDB)", "pages": pages,
            "seconds": round(seconds, 2), "pages_per_s": round(pages / seconds, 1),
            "references_found": meta["references"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--refs", type=int, default=1000)
    parser.add_argument("--sequential-refs", type=int, default=150, help="references for the sequential baseline")
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--papers", type=int, default=60)
    parser.add_argument("--skip-enrichment", action="store_true")
    parser.add_argument("--skip-extraction", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    print(f"# bibliography benchmark — {cpu_info()}", flush=True)
    results = []
    if not args.skip_extraction:
        results += extraction(args)
        for r in results:
            print(json.dumps(r), flush=True)
    if not args.skip_enrichment:
        for r in enrichment(args):
            results.append(r)
            print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
