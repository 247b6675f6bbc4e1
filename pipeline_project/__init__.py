"""pipeline_project: a Dagster code location for continuously arriving files."""

import sys as _sys

# PyMuPDF 1.28 imports its optional layout analyzer (pymupdf.layout, with ONNX Runtime) and pymupdf4llm
# on `import pymupdf` when they are installed, as they are beside it here. The project reads text
# layers and renders pages and never calls them; they cost each process that opens a PDF ~95 MiB and
# ~0.35 s (measured: import pymupdf 142 → 48 MiB). Marking them absent makes PyMuPDF skip them, as it
# does when they are not installed. Only when nothing imported PyMuPDF first, so a host process that
# wants them keeps them.
if "pymupdf" not in _sys.modules:
    for _optional in ("pymupdf.layout", "pymupdf4llm"):
        _sys.modules.setdefault(_optional, None)  # type: ignore[assignment]
