"""Item files: one JSON file per saved page, written by the crawl as each page is fetched.

    <inbox>/web/item_<id>.json   {url, final_url, title, fetched_at, content_hash, text, out_links, ...}

A page's identity is its final URL (after redirects): `doc_id = sha256("url:" + final_url)`. The same
URL crawled again keeps its document id, so its chunks keep their ids (chunk id = hash of document id
and chunk text) and only changed chunks are embedded again. `content_hash` says whether the page
changed at all; an unchanged page is not processed again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pipeline_project.lib.atomic import write_json_atomic
from pipeline_project.lib.text import storable

ITEM_PREFIX = "item_"
WEB_SOURCE_TYPE = "web"
REQUIRED_FIELDS = ("url", "final_url", "title", "fetched_at", "content_hash", "text", "out_links")


def doc_id_for_url(final_url: str) -> str:
    return hashlib.sha256(f"url:{final_url}".encode("utf-8")).hexdigest()


def content_hash(title: str, text: str) -> str:
    return hashlib.sha256(f"{title}\x00{text}".encode("utf-8")).hexdigest()


def item_name(final_url: str) -> str:
    return f"{ITEM_PREFIX}{doc_id_for_url(final_url)[:20]}.json"


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


@dataclass
class PageItem:
    url: str  # as requested (a link or a start URL)
    final_url: str  # after redirects: the page's identity
    title: str
    fetched_at: str
    content_hash: str
    text: str  # the page's main text (boilerplate removed)
    out_links: list[str] = field(default_factory=list)  # absolute, canonical, in page order, distinct
    crawl: str = ""
    run_id: str = ""
    depth: int = 0
    status: int = 200
    content_type: str = "text/html"
    encoding_repaired: bool = False  # bytes that did not decode were replaced

    @property
    def doc_id(self) -> str:
        return doc_id_for_url(self.final_url)

    def as_dict(self) -> dict:
        return asdict(self)


def make_item(*, url: str, final_url: str, title: str, text: str, out_links: list[str], **extra) -> PageItem:
    title, text = storable(title or "").strip(), storable(text or "")
    return PageItem(url=storable(url), final_url=storable(final_url), title=title, fetched_at=now_iso(),
                    content_hash=content_hash(title, text), text=text,
                    out_links=[storable(u) for u in dict.fromkeys(out_links)], **extra)


def write_item(folder: Path, item: PageItem) -> Path:
    """Write atomically (temp file + rename): a reader never sees half an item."""
    path = Path(folder) / item_name(item.final_url)
    write_json_atomic(path, item.as_dict())
    return path


class ItemError(ValueError):
    """An item file that cannot be processed; the message says why."""


def read_item(path: Path) -> PageItem:
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ItemError(f"not a readable item file: {exc}") from None
    if not isinstance(raw, dict):
        raise ItemError("not a readable item file: expected a JSON object")
    missing = [k for k in REQUIRED_FIELDS if k not in raw]
    if missing:
        raise ItemError(f"item file lacks {', '.join(missing)}")
    if not isinstance(raw["text"], str) or not isinstance(raw["out_links"], list):
        raise ItemError("item file has a non-text `text` or a non-list `out_links`")
    known = PageItem.__dataclass_fields__
    return PageItem(**{k: v for k, v in raw.items() if k in known})


def is_item_file(path: Path) -> bool:
    return path.name.startswith(ITEM_PREFIX) and path.name.endswith(".json") and path.is_file()
