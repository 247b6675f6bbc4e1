"""The plain one-process baseline for drawing comparison: render both pages (PyMuPDF), write the PNGs,
register + diff (the same OpenCV code), write the overlay — page after page, no Dagster, no
warehouse, no ledger, no sheet ids or summaries. What the pipeline's pages/s is compared against.

    .venv/bin/python benchmarks/drawings_baseline.py OLD.pdf NEW.pdf [--out DIR]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import pymupdf


def compare_in_order(old: Path, new: Path, out: Path, dpi: int = 220) -> dict:
    from pipeline_project.defs.drawings import diff, render
    from pipeline_project.defs.drawings.overlay import overlay_image

    start = time.perf_counter()
    first = None
    with pymupdf.open(old) as a, pymupdf.open(new) as b:
        pages = min(a.page_count, b.page_count)
        for i in range(pages):
            ra, rb = render.render_page(a, i, dpi), render.render_page(b, i, dpi)
            render.write_png(out / f"old_{i + 1:03d}.png", ra.rgb)
            render.write_png(out / f"new_{i + 1:03d}.png", rb.rgb)
            result = diff.compare_pages(ra.gray, rb.gray, diff.DiffSettings(dpi=ra.dpi))
            render.write_png(out / f"overlay_{i + 1:03d}.png", overlay_image(ra.gray, result))
            if first is None:
                first = time.perf_counter() - start
    seconds = time.perf_counter() - start
    return {"pages": pages, "seconds": seconds, "first_overlay_s": first, "pages_per_s": pages / seconds,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="drawings_baseline_"))
    out.mkdir(parents=True, exist_ok=True)
    r = compare_in_order(args.old, args.new, out)
    print(f"baseline: {r['pages']} pages in {r['seconds']:.1f} s = {r['pages_per_s']:.2f} pages/s; "
          f"first overlay after {r['first_overlay_s']:.1f} s; peak RSS {r['peak_rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
