"""Quarantine: where unreadable input goes, with a reason a person can read. Never deleted.

Every domain quarantines the same way: `<root>/quarantine/<domain>/<group>/<name>` plus
`<name>.reason.txt` beside it, in one format:

    reason: not a PDF: the file is an HTML page (often a login or error page saved as .pdf)
    domain: documents
    item: 20261130T120000-ab12cd/00003-login.pdf
    source: /data/inbox/login.pdf
    action: moved (the inbox copy belongs to the pipeline)
    quarantined_at: 2026-11-30T12:00:03+00:00

Who owns the source decides copy or move: files the pipeline owns (the inbox, a batch's incoming
folder) are moved; files the user owns (a raw archive of recordings, a drawing set they pointed us at)
are copied and left where they are. The reason is written first, so a crash between the two steps
leaves a reason waiting for its file, never an unexplained file; repeating the call is harmless.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from pipeline_project.lib.atomic import write_text_atomic
from pipeline_project.lib.text import storable

PIPELINE = "pipeline"  # the pipeline's own copy: move it
USER = "user"  # the user's file: copy it, leave the original alone
REASON_SUFFIX = ".reason.txt"
_ACTIONS = {PIPELINE: "moved (the pipeline's own copy)", USER: "copied (the original is yours and was left in place)"}


@dataclass(frozen=True)
class Quarantined:
    path: Path
    reason_file: Path
    reason: str


def reason_file_for(path: Path) -> Path:
    return Path(path).with_name(Path(path).name + REASON_SUFFIX)


def destination(root: Path, domain: str, group: str, name: str) -> Path:
    """<root>/quarantine/<domain>/<group>/<name>; `name` may keep sub-folders (two bad files may share
    a base name), but never climbs out of the group folder."""
    parts = [p for p in Path(name).parts if p not in ("", ".", "..", "/")]
    if not parts:
        parts = ["unnamed"]
    return Path(root) / "quarantine" / domain / group / Path(*parts)


def quarantine_file(source: Path, *, root: Path, domain: str, group: str, name: str, reason: str,
                    owner: str, item_id: str = "") -> Quarantined:
    """Put `source` in quarantine with its reason file; returns where it went."""
    if owner not in _ACTIONS:
        raise ValueError(f"owner must be {PIPELINE!r} or {USER!r}, not {owner!r}")
    dest = destination(root, domain, group, name)
    dest.parent.mkdir(parents=True, exist_ok=True)
    reason = storable(reason.strip()) or "no reason given"
    stamp = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    lines = [f"reason: {reason}", f"domain: {domain}", f"item: {storable(item_id or name)}",
             f"source: {storable(str(source))}", f"action: {_ACTIONS[owner]}", f"quarantined_at: {stamp}"]
    reason_file = reason_file_for(dest)
    write_text_atomic(reason_file, "\n".join(line.replace("\n", " ") for line in lines) + "\n")
    source = Path(source)
    if source.exists():
        if owner == PIPELINE:
            try:
                os.replace(source, dest)
            except OSError:  # another filesystem
                shutil.move(str(source), str(dest))
        else:
            shutil.copy2(source, dest)
    return Quarantined(dest, reason_file, reason)


def read_reason(path: Path) -> dict[str, str]:
    """The fields of a quarantined file's reason file ({} when there is none)."""
    target = Path(path)
    reason_file = target if target.name.endswith(REASON_SUFFIX) else reason_file_for(target)
    try:
        text = reason_file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(": ")
        if sep:
            fields[key.strip()] = value.strip()
        elif line.strip() and "reason" not in fields:  # a bare sentence: older reason files
            fields["reason"] = line.strip()
    return fields
