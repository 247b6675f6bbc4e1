"""A week of the kinds of files real archives hold: odd names, old and compressed formats, nested
structs, tiny / constant / integer / boolean signals, and broken files. The week completes; the
broken files are quarantined with a reason; nothing crashes the run."""

import datetime as dt
import os
from pathlib import Path

import numpy as np
import scipy.io

from pipeline_project.defs.observations import cli
from pipeline_project.samples.matfiles import set_mtime, signals

MONDAY = dt.datetime(2023, 1, 3, 12)


def write(path: Path, variables: dict, **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(path, variables, **kwargs)
    set_mtime(path, MONDAY)
    return path


def test_a_week_of_real_world_files(obs_root, config_path, capsys):
    from pipeline_project.defs.observations.config import load_config

    raw = load_config(config_path).raw_dir
    t = np.arange(600) / 10.0
    latin1 = Path(os.fsdecode(bytes(raw) + b"/r\xe9sum\xe9.mat"))  # a name that is not UTF-8
    write(latin1, {"t": t, "X": signals(600, 1)})
    write(raw / "UPPER.MAT", {"t": t, "X": signals(600, 2)})
    write(raw / "old_v4.mat", {"t": t, "X": signals(600, 3)}, format="4")
    write(raw / "compressed.mat", {"t": t, "s": {"inner": {"a": np.arange(600.0)}}}, do_compression=True)
    write(raw / "tiny.mat", {"x": np.array([1.0, 2.0, np.inf])})
    write(raw / "odd_types.mat", {"t": t, "flat": np.ones(600), "counts": np.arange(600, dtype=np.int16),
                                  "flag": np.ones(600, dtype=bool)})
    broken = Path(os.fsdecode(bytes(raw) + b"/bro\xefken.mat"))
    broken.write_bytes(b"garbage")
    set_mtime(broken, MONDAY)
    (raw / "empty.mat").write_bytes(b"")
    set_mtime(raw / "empty.mat", MONDAY)

    assert cli.main(["run", str(config_path)]) == 0
    capsys.readouterr()
    assert cli.main(["status", str(config_path), "--json"]) == 0
    (week,) = __import__("json").loads(capsys.readouterr().out)["weeks"]
    assert week["files"] == 8 and week["quarantined"] == 2 and week["rows"] > 0 and week["due"] == []
    kept = sorted(p.name for p in (obs_root / "quarantine" / "observations").rglob("*.reason.txt"))
    assert len(kept) == 2
    reasons = " ".join(p.read_text() for p in (obs_root / "quarantine" / "observations").rglob("*.reason.txt"))
    assert "corrupt MAT file" in reasons
