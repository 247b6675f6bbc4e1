"""The domains of the code location, and a domain's module for a role (assets, jobs, cli, ...).

Each domain is a folder pipeline_project/defs/<domain>/ with the same files for the same roles; the
commands that span every domain (`status`, `retry`, the CLI's sub-commands) find them here.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from types import ModuleType

DEFS = Path(__file__).resolve().parents[1] / "defs"
ORDER = ("documents", "ingest", "observations", "drawings", "bibliography", "web")


def names() -> list[str]:
    """Domains present, in a stable order (the known ones first)."""
    found = {p.name for p in DEFS.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    return [n for n in ORDER if n in found] + sorted(found - set(ORDER))


def module(domain: str, role: str) -> ModuleType | None:
    """pipeline_project.defs.<domain>.<role>, or None when the domain has no such file."""
    name = f"pipeline_project.defs.{domain}.{role}"
    if importlib.util.find_spec(name) is None:
        return None
    return importlib.import_module(name)
