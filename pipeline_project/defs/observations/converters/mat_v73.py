"""MATLAB v7.3 files: HDF5 behind a 512-byte MATLAB header, read slice by slice with h5py.

Limits (documented in docs/OBSERVATIONS.md):
- MATLAB writes column-major, so an m x n MATLAB matrix is an HDF5 dataset of shape (n, m);
  we transpose back. Plain 1-D datasets (written by non-MATLAB tools) are vectors.
- Structs are HDF5 groups -> dotted names. Cells are object references: only cellstrs
  (channel names) are decoded; other cells, sparse matrices, complex and MATLAB objects are
  skipped with a note. Strings are uint16 char datasets.
- Never reads a whole dataset: the base class asks for `chunk_samples` rows at a time.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from pipeline_project.defs.observations.converters.base import (
    ArraySource,
    ConversionError,
    Converter,
    FileContents,
)

_NUMERIC = {"double", "single", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
            "uint64", "logical"}


def _attr(obj, key: str) -> str | None:
    value = obj.attrs.get(key)
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def _chars(ds) -> list[str]:
    codes = np.asarray(ds[()])
    if codes.ndim == 2 and codes.shape[1] > 1 and codes.shape[0] > 1:  # char matrix, transposed
        return ["".join(map(chr, row)).strip() for row in codes.T]
    return ["".join(map(chr, codes.ravel())).strip()]


def _cellstr(f: h5py.File, ds) -> list[str] | None:
    out = []
    for ref in np.asarray(ds[()]).T.ravel():  # transpose: MATLAB column-major order
        target = f[ref]
        if not isinstance(target, h5py.Dataset) or _attr(target, "MATLAB_class") != "char":
            return None
        out += _chars(target)
    return out


def _source(name: str, ds: h5py.Dataset) -> ArraySource:
    if ds.ndim == 1:
        return ArraySource(name, (ds.shape[0],), read_rows=lambda a, b: ds[a:b])
    cols, rows = ds.shape  # HDF5 (n, m) is MATLAB m x n
    return ArraySource(
        name,
        (rows, cols),
        read_rows=lambda a, b: np.asarray(ds[:, a:b]).T,
        read_cols=lambda a, b: np.asarray(ds[a:b, :]).T,
    )


class MatV73Converter(Converter):
    type_name = "mat_v73"

    def __init__(self, config):
        super().__init__(config)
        self._file: h5py.File | None = None

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def sources(self, path: Path) -> FileContents:
        self.close()
        try:
            self._file = h5py.File(path, "r")
        except Exception as exc:
            raise ConversionError(path, f"corrupt v7.3 (HDF5) file: {type(exc).__name__}: {exc}")
        out = FileContents(arrays=[])
        try:
            self._walk(self._file, "", out)
        except ConversionError:
            raise
        except Exception as exc:
            raise ConversionError(path, f"corrupt v7.3 (HDF5) file: {type(exc).__name__}: {exc}")
        return out

    def _walk(self, group: h5py.Group, prefix: str, out: FileContents) -> None:
        for key, obj in group.items():
            if key.startswith("#"):  # #refs#, #subsystem#: MATLAB internals
                continue
            name = f"{prefix}{key}"
            if isinstance(obj, h5py.Group):
                self._walk(obj, f"{name}.", out)
                continue
            self._dataset(name, obj, out)

    def _dataset(self, name: str, ds: h5py.Dataset, out: FileContents) -> None:
        cls = _attr(ds, "MATLAB_class")
        if ds.attrs.get("MATLAB_empty"):
            out.notes.append(f"{name}: empty, skipped")
        elif cls == "char":
            out.strings[name] = _chars(ds)
        elif cls == "cell" or ds.dtype.kind == "O":
            strings = _cellstr(self._file, ds)
            if strings is None:
                out.notes.append(f"{name}: cell array skipped")
            else:
                out.strings[name] = strings
        elif (cls is not None and cls not in _NUMERIC) or ds.dtype.kind not in "biuf":
            out.notes.append(f"{name}: {cls or ds.dtype} skipped (not real numeric)")
        elif ds.size == 1:
            out.scalars[name.split(".")[-1]] = float(np.asarray(ds[()]).ravel()[0])
        elif ds.ndim > 2:
            out.notes.append(f"{name}: {ds.ndim}-D array skipped")
        else:
            out.arrays.append(_source(name, ds))
