"""Drawing-like PDF sets with known edits, for the drawings tests, the benchmark and demos.

A sheet looks like a construction drawing: a border, a grid with bubbles, rooms drawn as double
walls with door swings, dimension strings, equipment tags, general notes and a title block in the
lower right holding the sheet id (e.g. A-101) in large bold type. Every sheet is built from a seed,
so the old and new revision of a sheet differ only by the edits applied to the new one, and each
edit reports the rectangle (PDF points, page coordinates) where it changed the sheet.

Variants the real world sends: a set re-saved by another tool (bytes differ, renders equal), a set
rendered with a different ink/paper tone (a whole-page grey-level change), page sizes that differ
by under a point, a sheet stored on a rotated page, a sheet added in the middle, and image-only
"scanned" sets (slightly skewed, noisy pictures of the pages: their sheet ids need OCR).
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass, field
from pathlib import Path

import pymupdf

LETTER_LANDSCAPE = (792.0, 612.0)
TABLOID_LANDSCAPE = (1224.0, 792.0)
TITLE_BLOCK = (250.0, 110.0)  # width, height in points, inside the border's lower-right corner
MARGIN = 18.0
EDIT_KINDS = ("move_wall", "add_equipment", "change_dimension", "remove_note", "revise_title_block")


@dataclass
class Room:
    rect: tuple[float, float, float, float]
    name: str
    door_side: str  # which wall has the door: "bottom" or "left"
    label_at: tuple[float, float] = (0.0, 0.0)  # fixed when the sheet is made: moving a wall keeps it


@dataclass
class Sheet:
    sheet_id: str
    title: str
    seed: int
    size: tuple[float, float] = LETTER_LANDSCAPE
    revision: str = "A"
    rooms: list[Room] = field(default_factory=list)
    dimensions: list[tuple[tuple[float, float], tuple[float, float], str]] = field(default_factory=list)
    equipment: list[tuple[tuple[float, float, float, float], str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sheet_of: tuple[int, int] | None = None  # print "Sheet n of N" in the title block


@dataclass
class Edit:
    kind: str
    rect: pymupdf.Rect  # where the sheet changed (points)
    before: str = ""
    after: str = ""


@dataclass
class RevisionPair:
    old: Path
    new: Path
    old_sheets: list[Sheet]
    new_sheets: list[Sheet]
    edits: dict[int, list[Edit]]  # new page index (0-based) -> edits on that page
    added: list[int] = field(default_factory=list)  # new page indexes of sheets the old set lacks


# ------------------------------------------------------------------------------------ building sheets


def drawing_area(size: tuple[float, float]) -> pymupdf.Rect:
    """Where rooms go: inside the border, above the title block, right of the grid bubbles."""
    w, h = size
    return pymupdf.Rect(MARGIN + 40, MARGIN + 40, w - MARGIN - 20, h - MARGIN - TITLE_BLOCK[1] - 20)


def title_block_rect(size: tuple[float, float]) -> pymupdf.Rect:
    w, h = size
    return pymupdf.Rect(w - MARGIN - TITLE_BLOCK[0], h - MARGIN - TITLE_BLOCK[1], w - MARGIN, h - MARGIN)


def make_sheet(sheet_id: str, title: str, seed: int, size: tuple[float, float] = LETTER_LANDSCAPE) -> Sheet:
    rng = random.Random(seed)
    area = drawing_area(size)
    sheet = Sheet(sheet_id=sheet_id, title=title, seed=seed, size=size)
    cols, rows = 3, 2
    cell_w, cell_h = area.width / cols, area.height / rows
    number = 100 + (seed % 9) * 10
    for r in range(rows):
        for c in range(cols):
            x0 = area.x0 + c * cell_w + rng.uniform(8, 20)
            y0 = area.y0 + r * cell_h + rng.uniform(8, 20)
            x1 = area.x0 + (c + 1) * cell_w - rng.uniform(20, 40)
            y1 = area.y0 + (r + 1) * cell_h - rng.uniform(20, 36)
            number += 1
            name = rng.choice(["OFFICE", "STORAGE", "MEETING", "LAB", "CORRIDOR", "TOILET", "PLANT"])
            sheet.rooms.append(Room((x0, y0, x1, y1), f"{name} {number}", rng.choice(["bottom", "left"]),
                                    (x0 + (x1 - x0 - 60) / 2, y0 + (y1 - y0) / 2)))
    for room in sheet.rooms[:4]:
        x0, y0, x1, y1 = room.rect
        mm = round((x1 - x0) / 72 * 25.4 * 50 / 100) * 100  # a 1:50 drawing, in millimetres
        sheet.dimensions.append(((x0, y1 + 12), (x1, y1 + 12), str(mm)))
    for i, room in enumerate(sheet.rooms[::2]):
        x0, y0, x1, y1 = room.rect
        sheet.equipment.append(((x1 - 46, y0 + 10, x1 - 10, y0 + 30), f"FCU-{seed % 7 + 1}{i}"))
    sheet.notes = [
        "GENERAL NOTES:",
        "1. ALL DIMENSIONS IN MILLIMETRES.",
        "2. VERIFY ON SITE BEFORE FABRICATION.",
        f"3. REFER TO SHEET {sheet_id} SCHEDULES.",
    ]
    return sheet


def apply_edit(sheet: Sheet, kind: str) -> tuple[Sheet, Edit]:
    """A copy of `sheet` with one edit; the Edit says where (points) and what changed."""
    new = copy.deepcopy(sheet)
    if kind == "move_wall":
        room = new.rooms[0]
        x0, y0, x1, y1 = room.rect
        room.rect = (x0, y0, x1 + 24, y1)
        return new, Edit(kind, pymupdf.Rect(x1 - 4, y0 - 4, x1 + 28, y1 + 4))
    if kind == "add_equipment":
        x0, y0, x1, y1 = new.rooms[4].rect
        rect = (x0 + 14, y1 - 40, x0 + 70, y1 - 14)
        new.equipment.append((rect, "AHU-3"))
        return new, Edit(kind, pymupdf.Rect(rect) + (-3, -3, 3, 3), after="AHU-3")
    if kind == "change_dimension":
        p0, p1, text = new.dimensions[1]
        after = str(int(text) + 600)
        new.dimensions[1] = (p0, p1, after)
        mid = (p0[0] + p1[0]) / 2
        return new, Edit(kind, pymupdf.Rect(mid - 20, p0[1] - 12, mid + 20, p0[1] + 2), before=text, after=after)
    if kind == "remove_note":
        removed = new.notes.pop(2)
        area = drawing_area(new.size)
        y = area.y1 + 20 + 2 * 11
        return new, Edit(kind, pymupdf.Rect(MARGIN + 20, y - 10, MARGIN + 240, y + 14), before=removed)
    if kind == "revise_title_block":
        before = new.revision
        new.revision = chr(ord(before) + 1)
        tb = title_block_rect(new.size)
        return new, Edit(kind, pymupdf.Rect(tb.x0 + 150, tb.y0 + 40, tb.x1 - 4, tb.y0 + 62),
                         before=f"REV {before}", after=f"REV {new.revision}")
    raise ValueError(f"unknown edit {kind!r}; choose from {EDIT_KINDS}")


# ------------------------------------------------------------------------------------ drawing sheets


def _text(page, point, text, size=7.0, bold=False, color=(0, 0, 0)):
    page.insert_text(point, text, fontsize=size, fontname="hebo" if bold else "helv", color=color)


def draw_sheet(page: pymupdf.Page, sheet: Sheet, ink=(0, 0, 0), paper=None) -> None:
    """Draw `sheet` onto an unrotated page of sheet.size."""
    w, h = sheet.size
    if paper is not None:
        page.draw_rect(page.rect, color=None, fill=paper, width=0)
    page.draw_rect(pymupdf.Rect(MARGIN, MARGIN, w - MARGIN, h - MARGIN), color=ink, width=1.5)
    _draw_grid(page, sheet, ink)
    for room in sheet.rooms:
        _draw_room(page, room, ink)
    for p0, p1, text in sheet.dimensions:
        _draw_dimension(page, p0, p1, text, ink)
    for rect, label in sheet.equipment:
        page.draw_rect(pymupdf.Rect(rect), color=ink, width=0.8)
        _text(page, (rect[0] + 3, rect[1] + 13), label, 6.5, color=ink)
    area = drawing_area(sheet.size)
    for i, line in enumerate(sheet.notes):
        _text(page, (MARGIN + 24, area.y1 + 20 + i * 11), line, 7.0, bold=(i == 0), color=ink)
    _draw_title_block(page, sheet, ink)


def _draw_grid(page, sheet: Sheet, ink) -> None:
    area = drawing_area(sheet.size)
    for i in range(4):
        x = area.x0 + i * area.width / 3
        page.draw_line((x, area.y0 - 22), (x, area.y1), color=ink, width=0.3, dashes="[6 3] 0")
        page.draw_circle((x, area.y0 - 30), 8, color=ink, width=0.6)
        _text(page, (x - 3, area.y0 - 27), "ABCD"[i], 8, color=ink)
    for j in range(3):
        y = area.y0 + j * area.height / 2
        page.draw_line((area.x0 - 22, y), (area.x1, y), color=ink, width=0.3, dashes="[6 3] 0")
        page.draw_circle((area.x0 - 30, y), 8, color=ink, width=0.6)
        _text(page, (area.x0 - 33, y + 3), str(j + 1), 8, color=ink)


def _draw_room(page, room: Room, ink) -> None:
    r = pymupdf.Rect(room.rect)
    page.draw_rect(r, color=ink, width=1.2)
    page.draw_rect(r + (4, 4, -4, -4), color=ink, width=0.6)
    if room.door_side == "bottom":
        hinge = pymupdf.Point(r.x0 + 20, r.y1 - 4)
        page.draw_line(hinge, hinge + (0, -22), color=ink, width=0.6)
        page.draw_sector(hinge, hinge + (22, 0), -90, color=ink, width=0.3)
    else:
        hinge = pymupdf.Point(r.x0 + 4, r.y0 + 20)
        page.draw_line(hinge, hinge + (22, 0), color=ink, width=0.6)
        page.draw_sector(hinge, hinge + (0, 22), 90, color=ink, width=0.3)
    _text(page, room.label_at, room.name, 7.5, bold=True, color=ink)


def _draw_dimension(page, p0, p1, text, ink) -> None:
    page.draw_line(p0, p1, color=ink, width=0.4)
    for x, y in (p0, p1):
        page.draw_line((x, y - 5), (x, y + 5), color=ink, width=0.4)
        page.draw_line((x - 3, y + 3), (x + 3, y - 3), color=ink, width=0.8)
    mid = (p0[0] + p1[0]) / 2
    _text(page, (mid - 10, p0[1] - 3), text, 6.5, color=ink)


def _draw_title_block(page, sheet: Sheet, ink) -> None:
    tb = title_block_rect(sheet.size)
    page.draw_rect(tb, color=ink, width=1.2)
    page.draw_line((tb.x0, tb.y0 + 36), (tb.x1, tb.y0 + 36), color=ink, width=0.6)
    page.draw_line((tb.x0 + 145, tb.y0 + 36), (tb.x0 + 145, tb.y1), color=ink, width=0.6)
    _text(page, (tb.x0 + 6, tb.y0 + 14), "RIVERSIDE HEALTH CENTRE", 9, bold=True, color=ink)
    _text(page, (tb.x0 + 6, tb.y0 + 28), sheet.title.upper(), 7.5, color=ink)
    _text(page, (tb.x0 + 6, tb.y0 + 52), "DRAWN: JD   CHECKED: MK", 6.5, color=ink)
    _text(page, (tb.x0 + 6, tb.y0 + 66), "SCALE: 1:50 @ A1", 6.5, color=ink)
    _text(page, (tb.x0 + 6, tb.y0 + 80), "PROJECT NO. 2041-07", 6.5, color=ink)
    if sheet.sheet_of:
        _text(page, (tb.x0 + 6, tb.y0 + 96), f"Sheet {sheet.sheet_of[0]} of {sheet.sheet_of[1]}", 6.5, color=ink)
    _text(page, (tb.x0 + 152, tb.y0 + 48), "SHEET NO.", 6, color=ink)
    _text(page, (tb.x0 + 152, tb.y0 + 58), f"REV {sheet.revision}", 7.5, bold=True, color=ink)
    _text(page, (tb.x0 + 152, tb.y0 + 92), sheet.sheet_id, 22, bold=True, color=ink)


# ------------------------------------------------------------------------------------ writing sets


def write_set(path: Path, sheets: list[Sheet], *, ink=(0, 0, 0), paper=None, size_delta=(0.0, 0.0),
              rotated_pages: tuple[int, ...] = (), scanned: bool = False, scan_dpi: int = 150,
              scan_seed: int = 0) -> Path:
    """Write `sheets` as one PDF. rotated_pages: page indexes stored portrait with /Rotate 90 (they
    still display landscape, as in many CAD exports). scanned: image-only pages (no text layer)."""
    doc = pymupdf.open()
    for i, sheet in enumerate(sheets):
        w, h = sheet.size[0] + size_delta[0], sheet.size[1] + size_delta[1]
        src = pymupdf.open()
        draw_sheet(src.new_page(width=w, height=h), sheet, ink=ink, paper=paper)
        if scanned:
            _insert_scan(doc, src[0], scan_dpi, random.Random(scan_seed * 1000 + i))
        elif i in rotated_pages:
            # a portrait page whose content is turned by 90° and whose /Rotate turns it back
            page = doc.new_page(width=h, height=w)
            page.show_pdf_page(pymupdf.Rect(0, 0, h, w), src, 0, rotate=90)
            page.set_rotation(90)
        else:
            doc.insert_pdf(src)
        src.close()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(path, garbage=3, deflate=True)
    doc.close()
    return path


def _insert_scan(doc: pymupdf.Document, page: pymupdf.Page, dpi: int, rng: random.Random) -> None:
    """A picture of the page as a feeder scanner makes it: slightly skewed and shifted, speckled, JPEG."""
    import cv2
    import numpy as np

    pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY)
    img = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width)
    angle, dx, dy = rng.uniform(-0.5, 0.5), rng.uniform(-6, 6), rng.uniform(-6, 6)
    m = cv2.getRotationMatrix2D((pix.width / 2, pix.height / 2), angle, 1.0)
    m[:, 2] += (dx, dy)
    img = cv2.warpAffine(img, m, (pix.width, pix.height), flags=cv2.INTER_LINEAR, borderValue=245)
    noise = np.random.default_rng(rng.randrange(1 << 30)).normal(0, 6, img.shape)
    img = np.clip(img.astype(np.float32) * 0.96 + 4 + noise, 0, 255).astype(np.uint8)
    ok, jpeg = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 85])
    target = doc.new_page(width=page.rect.width, height=page.rect.height)
    target.insert_image(target.rect, stream=jpeg.tobytes())


def resave(src: Path, dst: Path) -> Path:
    """The same set saved again by another tool: new bytes (metadata, object layout, compression),
    identical rendering."""
    with pymupdf.open(src) as doc:
        doc.set_metadata({"producer": "Resaver 2.0", "title": "re-exported set"})
        doc.save(dst, garbage=4, deflate=True, clean=True, pretty=True)
    return Path(dst)


# ------------------------------------------------------------------------------------ revision pairs


def sheet_ids(count: int) -> list[str]:
    prefixes = ["A-101", "A-102", "A-201", "S-101", "M-101", "E-2.1", "P-101", "A-301", "A-501", "FP-101"]
    return [prefixes[i] if i < len(prefixes) else f"A-{601 + i - len(prefixes)}" for i in range(count)]


def base_set(count: int, seed: int = 0, size: tuple[float, float] = LETTER_LANDSCAPE) -> list[Sheet]:
    titles = ["Floor plan level 1", "Floor plan level 2", "Sections", "Structural plan", "Mechanical plan",
              "Electrical plan", "Plumbing plan", "Elevations", "Details", "Fire protection"]
    return [make_sheet(sid, titles[i % len(titles)], seed * 100 + i, size) for i, sid in enumerate(sheet_ids(count))]


def revision_pair(folder: Path, pages: int = 3, seed: int = 0, *, edits: dict[int, list[str]] | None = None,
                  add_sheet_at: int | None = None, size: tuple[float, float] = LETTER_LANDSCAPE,
                  scanned: bool = False, new_options: dict | None = None) -> RevisionPair:
    """old.pdf and new.pdf in `folder`. edits: old page index -> edit kinds applied in the new set
    (default: one edit on every other page). add_sheet_at: insert a new sheet at this new index."""
    folder = Path(folder)
    old_sheets = base_set(pages, seed, size)
    if edits is None:
        edits = {i: [EDIT_KINDS[i % len(EDIT_KINDS)]] for i in range(0, pages, 2)}
    new_sheets, found = [], {}
    for i, sheet in enumerate(old_sheets):
        changes = []
        for kind in edits.get(i, []):
            sheet, edit = apply_edit(sheet, kind)
            changes.append(edit)
        new_sheets.append(sheet)
        found[i] = changes
    added = []
    if add_sheet_at is not None:
        extra = make_sheet("A-105", "Roof plan", seed * 100 + 77, size)
        new_sheets.insert(add_sheet_at, extra)
        found = {(k if k < add_sheet_at else k + 1): v for k, v in found.items()}
        added.append(add_sheet_at)
    old = write_set(folder / "old.pdf", old_sheets, scanned=scanned, scan_seed=seed)
    new = write_set(folder / "new.pdf", new_sheets, scanned=scanned, scan_seed=seed + 1, **(new_options or {}))
    return RevisionPair(old, new, old_sheets, new_sheets, {k: v for k, v in found.items() if v}, added)


def not_a_pdf(path: Path) -> Path:
    Path(path).write_bytes(b"<!DOCTYPE html><html><body>Session expired, please sign in</body></html>\n")
    return Path(path)


def encrypted_copy(src: Path, dst: Path) -> Path:
    with pymupdf.open(src) as doc:
        doc.save(dst, encryption=pymupdf.PDF_ENCRYPT_AES_256, owner_pw="owner", user_pw="secret")
    return Path(dst)
