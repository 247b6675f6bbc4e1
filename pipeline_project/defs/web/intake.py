"""A web batch's first two stages, run by the documents chain for batches of item files.

intake (in raw_pdfs): each item file is read and checked; an unreadable one is quarantined with its
reason; a page whose content hash equals the version already processed is `duplicate` (unchanged:
nothing downstream is redone); a changed or new page is `accepted`, stored under
store/web/<id[:2]>/<id>-<content hash>.json, and becomes the page's current version in web_pages.
A changed page's previous version is handed over in the same transaction: its rows leave the old
batch and its vectors move with it, so the chunks that did not change are not embedded again.

records (in ocr_jsonl): the accepted pages as records in the olmOCR format the documents stage reads
(one page each, source `web`, the URL as Source-File), so chunking and embedding are the same code
as for PDFs.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

from pipeline_project.defs.web.items import ItemError, PageItem, WEB_SOURCE_TYPE, read_item
from pipeline_project.defs.web.tables import current_versions, ensure_web_schema, table_exists, upsert_pages
from pipeline_project.lib import ledger
from pipeline_project.lib.atomic import read_json, write_json_atomic
from pipeline_project.lib.quarantine import PIPELINE, quarantine_file
from pipeline_project.lib.warehouse import connect

DOMAIN = "web"
ACCEPTED, DUPLICATE, QUARANTINED, MISSING = "accepted", "duplicate", "quarantined", "missing"
PAGE_METHOD = "web"


def extractor_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"trafilatura {version('trafilatura')}"
    except PackageNotFoundError:
        return "trafilatura"


def is_web_batch(manifest: dict) -> bool:
    return manifest.get("source_type") == WEB_SOURCE_TYPE


def store_path(storage, item: PageItem) -> Path:
    return storage.folder("store", "web", item.doc_id[:2]) / f"{item.doc_id}-{item.content_hash[:16]}.json"


def _record(entry: dict, item: PageItem | None, status: str, reason: str, stored: str | None) -> dict:
    return {"slot": entry["slot"], "source_file": item.final_url if item else entry["path"],
            "doc_id": item.doc_id if item else None, "status": status, "reason": reason, "pages": 1 if item else 0,
            "bytes": entry.get("size", 0), "stored_path": stored, "repaired": bool(item and item.encoding_repaired),
            "recorded_at": dt.datetime.now(dt.timezone.utc).isoformat(), "content_hash": item.content_hash if item else None,
            "fetched_at": item.fetched_at if item else None}


def _read(path: Path, stored: str | None) -> tuple[PageItem | None, str]:
    for candidate in (path, Path(stored) if stored else None):
        if candidate is not None and candidate.exists():
            try:
                return read_item(candidate), ""
            except ItemError as exc:
                return None, str(exc)
    return None, "the item file disappeared from the batch before intake"


def intake_web_batch(storage, warehouse, batch_id: str, manifest: dict) -> list[dict]:
    """Decide and file away every item of the batch; returns one pdf_intake-shaped record per file."""
    batch_dir = storage.batches / batch_id
    decided = {e["slot"]: read_json(batch_dir / "intake" / f"{e['slot']}.json") for e in manifest["files"]}
    items: dict[str, PageItem] = {}
    problems: dict[str, tuple[str, str]] = {}
    for entry in manifest["files"]:
        stored = (decided[entry["slot"]] or {}).get("stored_path")
        item, error = _read(batch_dir / "incoming" / entry["slot"], stored)
        if item is None:
            problems[entry["slot"]] = (MISSING if "disappeared" in error else QUARANTINED, error)
        else:
            items[entry["slot"]] = item
    with connect(warehouse, read_only=False) as conn:
        known = current_versions(conn, [i.doc_id for i in items.values()])
    records = []
    for entry in manifest["files"]:
        slot = entry["slot"]
        if slot in problems:
            status, reason = problems[slot]
            records.append(_record(entry, None, status, reason, None))
            continue
        item = items[slot]
        status, reason = _decide(item, known.get(item.doc_id), batch_id)
        records.append(_record(entry, item, status, reason, str(store_path(storage, item))))
    for record in records:
        write_json_atomic(batch_dir / "intake" / f"{record['slot']}.json", record)
        _file_away(storage, batch_id, batch_dir / "incoming" / record["slot"], record)
    _take_over(warehouse, batch_id, records, items)
    return records


def _decide(item: PageItem, current: dict | None, batch_id: str) -> tuple[str, str]:
    if current is None or current["batch_id"] == batch_id:
        return ACCEPTED, ""
    if current["fetched_at"] > item.fetched_at:
        return DUPLICATE, f"a newer crawl of this page is in batch {current['batch_id']}"
    if current["content_hash"] == item.content_hash and current["processed"]:
        return DUPLICATE, f"unchanged since the crawl in batch {current['batch_id']}"
    return ACCEPTED, ""


def _file_away(storage, batch_id: str, src: Path, record: dict) -> None:
    if not src.exists():
        return
    if record["status"] == QUARANTINED:
        placed = quarantine_file(src, root=storage.root_path, domain=DOMAIN, group=batch_id, name=record["slot"],
                                 reason=record["reason"], owner=PIPELINE, item_id=record["slot"])
        record["stored_path"] = str(placed.path)
        return
    dest = Path(record["stored_path"])
    if dest.exists():
        src.unlink()  # content-versioned name: same page, same text
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(src, dest)
    except OSError:
        shutil.move(str(src), str(dest))


def _take_over(warehouse, batch_id: str, records: list[dict], items: dict[str, PageItem]) -> None:
    """Make this batch hold the current version of its accepted pages, and record every item in the
    ledger, in one transaction."""
    accepted = [r for r in records if r["status"] == ACCEPTED]
    rows = []
    for r in accepted:
        item = items[r["slot"]]
        rows.append({"doc_id": item.doc_id, "url": item.url, "final_url": item.final_url, "title": item.title,
                     "crawl": item.crawl, "run_id": item.run_id, "fetched_at": item.fetched_at,
                     "content_hash": item.content_hash, "out_links": item.out_links, "batch_id": batch_id,
                     "item_path": r["stored_path"]})
    moved = [r["doc_id"] for r in accepted]
    with connect(warehouse) as conn:
        ensure_web_schema(conn)
        ledger.ensure_ledger(conn)
        conn.execute("BEGIN TRANSACTION")
        try:
            upsert_pages(conn, rows)
            if moved and table_exists(conn, "documents"):
                _hand_over(conn, batch_id, moved)
            ledger.upsert(conn, [_ledger_entry(batch_id, r) for r in records])
            conn.execute("COMMIT")
        except Exception:
            conn.execute("ROLLBACK")
            raise


def _hand_over(conn, batch_id: str, doc_ids: list[str]) -> None:
    """The previous version's rows leave their old batch; its vectors are re-tagged to this batch, so
    unchanged chunks (same id) are reused and the embeddings stage drops the ones no longer used."""
    params = [doc_ids, batch_id]
    conn.execute("""UPDATE embeddings SET batch_id = ? WHERE chunk_id IN (
                        SELECT chunk_id FROM chunks WHERE doc_id IN (SELECT unnest(?)) AND batch_id <> ?)""",
                 [batch_id, doc_ids, batch_id])
    for table in ("chunks", "pages", "documents"):
        conn.execute(f"DELETE FROM {table} WHERE doc_id IN (SELECT unnest(?)) AND batch_id <> ?", params)


def _ledger_entry(batch_id: str, record: dict) -> ledger.Entry:
    status = record["status"]
    state = ledger.DEAD_LETTER if status in (QUARANTINED, MISSING) else ledger.DONE
    detail = {"status": status, "doc_id": record.get("doc_id"), "content_hash": record.get("content_hash")}
    if record.get("reason"):
        detail["reason"] = record["reason"]
    return ledger.Entry(DOMAIN, record["source_file"], "intake", state, batch_id,
                        error=record["reason"] if state != ledger.DONE else None, label=record["source_file"],
                        quarantine_path=record["stored_path"] if status == QUARANTINED else None,
                        detail=detail, attempts_delta=1)


def web_records(storage, warehouse, batch_id: str, intake: list[dict]) -> list[dict]:
    """olmOCR-format records for the batch's accepted pages that are still their page's current version."""
    from pipeline_project.defs.documents.olmocr_format import DocumentText, PageText, build_record

    accepted = [r for r in intake if r["status"] == ACCEPTED]
    with connect(warehouse) as conn:
        holders = {d: v["batch_id"] for d, v in current_versions(conn, [r["doc_id"] for r in accepted]).items()}
    records = []
    for r in accepted:
        if holders.get(r["doc_id"]) != batch_id:
            continue  # a newer crawl holds this page now
        item = read_item(Path(r["stored_path"]))
        text = item.text if not item.title or item.text.startswith(item.title) else f"{item.title}\n\n{item.text}"
        record = build_record(DocumentText(item.doc_id, item.final_url, [PageText(1, text, PAGE_METHOD)]),
                              source=WEB_SOURCE_TYPE, engine_version=extractor_version())
        record["metadata"].update(url=item.final_url, title=item.title, fetched_at=item.fetched_at,
                                  content_hash=item.content_hash, crawl=item.crawl)
        records.append(record)
    return records
