"""Writers for test recordings: MATLAB v5 (scipy) and v7.3 (HDF5 + 512-byte MATLAB header)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import h5py
import numpy as np
import scipy.io


def write_v5(path: Path, variables: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(str(path), variables)
    return path


def _matlab_header() -> bytes:
    text = (b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  2 00:00:00 2023 "
            b"HDF5 schema 1.00 .").ljust(116, b" ")
    return text + b"\x00" * 8 + (0x0200).to_bytes(2, "little") + b"IM"


def write_v73(path: Path, variables: dict, names: list[str] | None = None,
              names_variable: str = "names") -> Path:
    """Like MATLAB: arrays stored transposed (m x n -> HDF5 (n, m)), MATLAB_class attributes,
    dict values become struct groups, `names` a cellstr stored through #refs#."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w", userblock_size=512) as f:
        _write_group(f, variables)
        if names is not None:
            refs = f.create_group("#refs#")
            ref_list = []
            for i, name in enumerate(names):
                ds = refs.create_dataset(f"n{i}", data=np.array([[ord(c)] for c in name], "uint16"))
                ds.attrs["MATLAB_class"] = np.bytes_("char")
                ref_list.append(ds.ref)
            cell = f.create_dataset(names_variable, data=np.array([ref_list], dtype=h5py.ref_dtype))
            cell.attrs["MATLAB_class"] = np.bytes_("cell")
    with open(path, "r+b") as fh:
        fh.write(_matlab_header())
    return path


def _write_group(group, variables: dict) -> None:
    for name, value in variables.items():
        if isinstance(value, dict):
            sub = group.create_group(name)
            sub.attrs["MATLAB_class"] = np.bytes_("struct")
            _write_group(sub, value)
            continue
        arr = np.asarray(value)
        if arr.ndim == 1:
            arr = arr.reshape(-1, 1)  # MATLAB column vector n x 1
        ds = group.create_dataset(name, data=arr.T, chunks=True)
        ds.attrs["MATLAB_class"] = np.bytes_({"f": "double", "i": "int32", "u": "uint16"}[arr.dtype.kind]
                                             if arr.dtype.kind != "f" or arr.dtype.itemsize == 8
                                             else "single")


def set_mtime(path: Path, when: dt.datetime) -> None:
    ts = when.replace(tzinfo=dt.timezone.utc).timestamp()
    os.utime(path, (ts, ts))


def signals(n: int, seed: int, k: int = 3) -> np.ndarray:
    """n x k: a random walk, a noisy sine, white noise (deterministic per seed)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    cols = [rng.normal(size=n).cumsum(), np.sin(2 * np.pi * t / 50) + 0.1 * rng.normal(size=n),
            rng.normal(size=n)]
    return np.column_stack(cols[:k] + [rng.normal(size=n) for _ in range(k - 3)])


def make_dataset(root: Path, weeks: int = 3, files_per_week: int = 2, n: int = 600,
                 start: dt.datetime = dt.datetime(2023, 1, 2, 12)) -> list[Path]:
    """Alternating v5 / v7.3 files, 3 signals each (a 2-D matrix + names), spanning `weeks`."""
    made = []
    seed = 0
    for w in range(weeks):
        for i in range(files_per_week):
            seed += 1
            when = start + dt.timedelta(days=7 * w, hours=6 * i)
            data = signals(n, seed)
            t = np.arange(n, dtype="float64") / 10.0
            if seed % 2:
                path = write_v5(root / f"w{w}" / f"rec{seed:03d}.mat",
                                {"t": t, "X": data, "names": np.array(["walk", "sine", "noise"], dtype=object)})
            else:
                path = write_v73(root / f"w{w}" / f"rec{seed:03d}.mat", {"t": t, "X": data},
                                 names=["walk", "sine", "noise"])
            set_mtime(path, when)
            made.append(path)
    return made
