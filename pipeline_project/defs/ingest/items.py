"""The identifier list: which files to fetch, from where, and which slice each belongs to.

Formats (chosen by content, not extension):
- plain text: one identifier or URL per line; blank lines and `#` comments are ignored;
- CSV with a header: an `id` (or `identifier`) and/or `url` column, optional `sha256` and `size` columns.
An identifier becomes a URL through a template such as `{base_url}/{id}/{id}.pdf`.

Slices are positional (`slice-00000` = items 0..N-1), so the list must only ever be appended to;
the ledger is keyed by item id, so even an edited list never causes a second download.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

SLICE_PREFIX = "slice-"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class DownloadItem:
    index: int  # position in the list (0-based): decides the slice
    item_id: str  # the ledger key
    url: str
    file_name: str  # name in the inbox
    sha256: str | None = None
    size: int | None = None


def slice_key(slice_no: int) -> str:
    return f"{SLICE_PREFIX}{slice_no:05d}"


def slice_number(key: str) -> int:
    if not key.startswith(SLICE_PREFIX):
        raise ValueError(f"not a download slice key: {key!r}")
    return int(key[len(SLICE_PREFIX):])


def safe_name(text: str) -> str:
    return _UNSAFE.sub("_", text).strip("._") or "item"


def _is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


def make_item(index: int, entry: str, *, url_template: str, base_url: str, url: str = "",
              sha256: str | None = None, size: int | None = None) -> DownloadItem:
    """Turn one list entry (identifier or URL) into an item with its URL and inbox file name."""
    entry = entry.strip()
    if not url and _is_url(entry):
        url = entry
        stem = safe_name(Path(urlsplit(url).path).stem)
        # two URLs may share a basename: a short hash of the URL keeps their files apart
        name = f"{stem}-{hashlib.sha1(url.encode()).hexdigest()[:8]}.pdf"
        return DownloadItem(index, url, url, name, sha256, size)
    if not url:
        if not url_template:
            raise ValueError(f"entry {entry!r} is an identifier but no URL template is configured")
        url = url_template.format(base_url=base_url.rstrip("/"), id=quote(entry, safe=""))
    return DownloadItem(index, entry or url, url, f"{safe_name(entry or url)}.pdf", sha256, size)


def parse_list(text: str, *, url_template: str = "", base_url: str = "") -> list[DownloadItem]:
    lines = text.splitlines()
    first = next((ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")), "")
    header = [h.strip().lower() for h in first.split(",")]
    if "," in first and ({"id", "identifier", "url"} & set(header)):
        return _parse_csv(text, url_template=url_template, base_url=base_url)
    entries = [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    return [make_item(i, e, url_template=url_template, base_url=base_url) for i, e in enumerate(entries)]


def _parse_csv(text: str, *, url_template: str, base_url: str) -> list[DownloadItem]:
    rows = csv.DictReader(io.StringIO(text))
    items = []
    for row in rows:
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        entry = row.get("id") or row.get("identifier") or ""
        url = row.get("url") or ""
        if not entry and not url:
            continue
        size = row.get("size") or row.get("bytes")
        items.append(
            make_item(len(items), entry or url, url_template=url_template, base_url=base_url, url=url,
                      sha256=(row.get("sha256") or None), size=int(size) if size else None)
        )
    return items


def load_list(path: Path, *, url_template: str = "", base_url: str = "") -> list[DownloadItem]:
    return parse_list(Path(path).read_text(encoding="utf-8"), url_template=url_template, base_url=base_url)


def in_scope(items: list[DownloadItem], start_from: int = 0, max_items: int = 0) -> list[DownloadItem]:
    """--start-from / --max-items: a window of the list (max_items 0 = no limit)."""
    end = start_from + max_items if max_items > 0 else len(items)
    return [it for it in items if start_from <= it.index < end]


def slices_of(items: list[DownloadItem], slice_size: int) -> dict[str, list[DownloadItem]]:
    out: dict[str, list[DownloadItem]] = {}
    for item in items:
        out.setdefault(slice_key(item.index // slice_size), []).append(item)
    return out
