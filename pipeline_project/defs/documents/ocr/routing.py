"""Born-digital routing for GPU OCR: only pages without a usable text layer go to the cluster.

On the Dagster side every page is classified exactly as the local engine does (PyMuPDF text layer,
`text_layer_is_usable`). Pages that pass are read right here. The others are copied, in batch order,
into a few "routed" PDFs (at most `pages_per_pdf` pages each) that the SLURM job OCRs; each routed
PDF carries a page map (routed page k → document, original page number), so the job's output maps
back to the exact page of the exact document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pipeline_project.defs.documents.ocr.base import OcrInput
from pipeline_project.defs.documents.ocr.local import text_layer_is_usable
from pipeline_project.defs.documents.olmocr_format import PAGE_EMPTY, PAGE_OCR, PageText, pages_from_record


@dataclass
class RoutedBatch:
    """Per document, one slot per page: its text-layer PageText, or None while it waits for OCR."""

    pages: dict[str, list[PageText | None]] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)  # doc_id -> reason

    @property
    def for_gpu(self) -> list[tuple[str, int]]:
        """(doc_id, 1-based page) of every page that needs OCR, in batch order."""
        return [(doc, n) for doc, slots in self.pages.items() for n, slot in enumerate(slots, 1) if slot is None]

    @property
    def text_layer_pages(self) -> int:
        return sum(slot is not None for slots in self.pages.values() for slot in slots)


def route_batch(inputs: list[OcrInput], min_text_chars: int) -> RoutedBatch:
    """Read every text layer; leave a hole where a page needs OCR. Unreadable PDFs become failures."""
    import pymupdf

    from pipeline_project.defs.documents.olmocr_format import PAGE_TEXT_LAYER

    routed = RoutedBatch()
    for item in inputs:
        try:
            with pymupdf.open(item.pdf_path) as pdf:
                slots: list[PageText | None] = []
                for page in pdf:
                    text = page.get_text("text", sort=True).strip()
                    usable = text_layer_is_usable(text, min_text_chars)
                    slots.append(PageText(page.number + 1, text, PAGE_TEXT_LAYER) if usable else None)
        except Exception as exc:  # one bad document must not sink its batch
            routed.failures[item.doc_id] = f"could not read PDF pages: {type(exc).__name__}: {exc}"
            continue
        routed.pages[item.doc_id] = slots
    return routed


def write_routed_pdfs(routed: RoutedBatch, inputs: list[OcrInput], out_dir: Path, pages_per_pdf: int,
                      to_cluster=str) -> list[dict]:
    """Copy the pages needing OCR into routed-NNN.pdf files; returns the job's manifest entries
    (the payload treats each routed PDF as one document) with their page maps."""
    import pymupdf

    paths = {i.doc_id: i.pdf_path for i in inputs}
    wanted = routed.for_gpu
    manifest: list[dict] = []
    for start in range(0, len(wanted), max(1, pages_per_pdf)):
        chunk = wanted[start:start + max(1, pages_per_pdf)]
        name = f"routed-{len(manifest) + 1:03d}.pdf"
        out = pymupdf.open()
        opened: dict[str, pymupdf.Document] = {}
        try:
            for doc_id, page in chunk:
                if doc_id not in opened:
                    opened[doc_id] = pymupdf.open(paths[doc_id])
                out.insert_pdf(opened[doc_id], from_page=page - 1, to_page=page - 1)
            out.save(out_dir / name, garbage=3, deflate=True)
        finally:
            out.close()
            for doc in opened.values():
                doc.close()
        manifest.append({"doc_id": name.removesuffix(".pdf"), "pdf_path": to_cluster(out_dir / name),
                         "source_file": name, "pages": len(chunk),
                         "page_map": [[doc_id, page] for doc_id, page in chunk]})
    return manifest


def map_back(records: list[dict], manifest: list[dict]) -> dict[tuple[str, int], PageText]:
    """OCR'd pages of the routed PDFs → {(doc_id, original page): PageText}."""
    maps = {entry["doc_id"]: entry["page_map"] for entry in manifest}
    found: dict[tuple[str, int], PageText] = {}
    for record in records:
        page_map = maps.get((record.get("metadata") or {}).get("doc_id", ""))
        if page_map is None:
            continue
        for page in pages_from_record(record):
            if not 1 <= page.page <= len(page_map):
                continue  # not a page we sent: never guess where it belongs
            doc_id, original = page_map[page.page - 1]
            method = PAGE_OCR if page.text.strip() else PAGE_EMPTY
            found[(doc_id, int(original))] = PageText(int(original), page.text, method)
    return found
