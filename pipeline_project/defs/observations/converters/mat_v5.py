"""MATLAB v4/v5/v7 (non-HDF5) files via scipy.io.loadmat.

These formats cannot be read partially, so a file is loaded whole (v5 files are capped at
2 GB by MATLAB itself). Structs become dotted names (`s.accel.x`); 2-D matrices are split into
channels by the base class; char arrays and cellstrs are kept as strings (channel names).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.io
from scipy.io.matlab import mat_struct

from pipeline_project.defs.observations.converters.base import (
    ArraySource,
    ConversionError,
    Converter,
    FileContents,
)


def _strings(value) -> list[str] | None:
    """A char array, a cellstr, or an array of str -> list of str; else None."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, np.ndarray) and value.dtype.kind in "US":
        return [str(v).strip() for v in value.ravel()]
    if isinstance(value, np.ndarray) and value.dtype == object and value.size:
        items = [v.item() if isinstance(v, np.ndarray) and v.size == 1 else v for v in value.ravel()]
        if all(isinstance(v, str) for v in items):
            return [v.strip() for v in items]
    return None


def _array_source(name: str, arr: np.ndarray) -> ArraySource:
    if arr.dtype == bool:
        arr = arr.astype("uint8")
    return ArraySource(
        name=name,
        shape=tuple(arr.shape),
        read_rows=lambda a, b: arr[a:b],
        read_cols=(lambda a, b: arr[:, a:b]) if arr.ndim == 2 else None,
    )


def _walk(name: str, value, out: FileContents) -> None:
    if isinstance(value, mat_struct):
        for field in value._fieldnames:
            _walk(f"{name}.{field}", getattr(value, field), out)
        return
    strings = _strings(value)
    if strings is not None:
        out.strings[name] = strings
        return
    arr = np.asarray(value)
    if arr.dtype == object:
        out.notes.append(f"{name}: cell/struct array skipped")
    elif arr.dtype.kind not in "biuf":
        out.notes.append(f"{name}: {arr.dtype} skipped (not real numeric)")
    elif arr.size == 0:
        out.notes.append(f"{name}: empty, skipped")
    elif arr.size == 1:
        out.scalars[name.split(".")[-1]] = float(arr.ravel()[0])
    elif arr.ndim > 2:
        out.notes.append(f"{name}: {arr.ndim}-D array skipped")
    else:
        out.arrays.append(_array_source(name, arr))


class MatV5Converter(Converter):
    type_name = "mat_v5"

    def sources(self, path: Path) -> FileContents:
        try:
            data = scipy.io.loadmat(str(path), squeeze_me=True, struct_as_record=False,
                                    chars_as_strings=True)
        except NotImplementedError as exc:  # scipy's message for v7.3 and unknown versions
            raise ConversionError(path, f"unsupported MAT version: {exc}") from None
        except Exception as exc:  # scipy raises many types for truncated/garbled files
            raise ConversionError(path, f"corrupt or unreadable MAT file: {type(exc).__name__}: {exc}")
        out = FileContents(arrays=[])
        for name, value in data.items():
            if not name.startswith("__"):
                _walk(name, value, out)
        return out
