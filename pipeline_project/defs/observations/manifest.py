"""Manifest: which compute engines run for which signal this week (manifest.yaml).

A signal feeds the multivariate engines unless either classifier calls it constant (a zero
variance column makes the covariance singular and says nothing) or the rule classifier calls
it sparse (windows would mostly be incomplete). Eigendecomposition needs >= 2 signals.
"""

from __future__ import annotations

import pandas as pd

ENGINES = ("state_geometry", "eigendecomposition")


def signal_engines(row: dict) -> tuple[list[str], str]:
    if "constant" in (row.get("variability_rule"), row.get("variability_stat")):
        return [], "constant signal"
    if row.get("completeness_rule") == "sparse":
        return [], "too many missing samples"
    return list(ENGINES), "eligible"


def build_manifest(dataset: str, partition_key: str, label: str, classified: pd.DataFrame,
                   window: int, step: int, overlap: int, skip_manifold: bool) -> dict:
    signals = {}
    for row in classified.to_dict("records"):
        engines, reason = signal_engines(row)
        signals[str(row["signal"])] = {"engines": engines, "reason": reason,
                                       "disagreements": int(row.get("n_disagreements", 0))}
    eligible = sorted(s for s, v in signals.items() if v["engines"])
    if len(eligible) < 2:
        for name in eligible:
            signals[name]["engines"] = ["state_geometry"]
    return {
        "dataset": dataset,
        "week": label,
        "partition_key": partition_key,
        "skip_manifold": skip_manifold,
        "window": {"samples": window, "step": step, "overlap_samples": overlap},
        "engines": {
            "state_geometry": {"signals": list(eligible)},
            "eigendecomposition": {"signals": list(eligible) if len(eligible) >= 2 else []},
        },
        "signals": signals,
    }


def manifold_signals(manifest: dict) -> list[str]:
    return list(manifest.get("engines", {}).get("state_geometry", {}).get("signals", []))
