"""The live dashboard of `pipeline-project bib process-pdf|process-folder|watch-folder`.

Items per stage (queued, running, finished), items/min, ETA, outcomes, errors by stage and reason,
retry counts, and each service's state (circuit, pace against its ceiling, requests in flight,
429s). rich draws it in place on a terminal; elsewhere (CI logs, pipes) a plain line per stage is
printed every few seconds instead.
"""

from __future__ import annotations

import sys
import threading
from contextlib import contextmanager
from typing import Iterator

from pipeline_project.defs.bibliography.progress import Progress


def _eta(seconds) -> str:
    if seconds is None:
        return "—"
    if seconds <= 0:
        return "done"
    return f"{seconds // 60:.0f}m{seconds % 60:02.0f}s" if seconds >= 60 else f"{seconds:.0f}s"


def render(snapshot: dict, title: str = "bibliography"):
    from rich.console import Group
    from rich.table import Table

    stages = Table(title=f"{title} — {snapshot['elapsed_s']:.0f} s", expand=True)
    for column in ("stage", "queued", "running", "finished", "per min", "ETA", "outcomes", "retries"):
        stages.add_column(column, justify="left" if column in ("stage", "outcomes") else "right")
    errors = Table(title="errors by stage and reason", expand=True, show_header=False)
    for name, s in snapshot["stages"].items():
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(s["outcomes"].items()) if v)
        stages.add_row(name, str(s["queued"]), str(s["running"]), str(s["finished"]), f"{s['per_min']:.0f}",
                       _eta(s["eta_s"]), outcomes or "—", str(s["retries"]))
        for reason, n in s["errors"].items():
            errors.add_row(name, str(n), reason)
    services = Table(title="services", expand=True)
    for column in ("service", "pool", "circuit", "pace/ceiling /s", "in flight", "sent", "429s", "errors"):
        services.add_column(column)
    for name, st in sorted(snapshot["services"].items()):
        counts = st.get("counts", {})
        services.add_row(name, st.get("pool", ""), st.get("breaker", ""),
                         f"{st.get('pace_per_s', 0):g}/{st.get('ceiling_per_s', 0):g}",
                         f"{st.get('in_flight', 0)}/{st.get('concurrency', 0)}", str(st.get("sent", 0)),
                         str(counts.get("rate_limited", 0)), str(counts.get("error", 0)))
    parts = [stages, services]
    if errors.row_count:
        parts.append(errors)
    return Group(*parts)


def plain_lines(snapshot: dict) -> list[str]:
    lines = []
    for name, s in snapshot["stages"].items():
        if s["queued"] or s["finished"]:
            outcomes = ", ".join(f"{k} {v}" for k, v in sorted(s["outcomes"].items()) if v)
            lines.append(f"[{snapshot['elapsed_s']:>6.0f}s] {name:<8} {s['finished']}/{s['queued']} "
                         f"({s['per_min']:.0f}/min, ETA {_eta(s['eta_s'])}) {outcomes} retries {s['retries']}")
    for name, st in sorted(snapshot["services"].items()):
        lines.append(f"           {name:<8} circuit {st.get('breaker')} pace {st.get('pace_per_s')}/"
                     f"{st.get('ceiling_per_s')}/s sent {st.get('sent')} 429s "
                     f"{st.get('counts', {}).get('rate_limited', 0)}")
    return lines


@contextmanager
def live(progress: Progress, enabled: bool = True, title: str = "bibliography",
         every: float = 10.0) -> Iterator[None]:
    """Show the dashboard while the block runs."""
    if not enabled:
        yield
        return
    stop = threading.Event()
    if sys.stdout.isatty():
        from rich.live import Live

        with Live(render(progress.snapshot(), title), refresh_per_second=4, transient=False) as view:
            def refresh():
                while not stop.wait(0.25):
                    view.update(render(progress.snapshot(), title))

            thread = threading.Thread(target=refresh, daemon=True)
            thread.start()
            try:
                yield
            finally:
                stop.set()
                thread.join()
                view.update(render(progress.snapshot(), title))
        return

    def report():
        while not stop.wait(every):
            print("\n".join(plain_lines(progress.snapshot())), flush=True)

    thread = threading.Thread(target=report, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        print("\n".join(plain_lines(progress.snapshot())), flush=True)
