"""CSV recordings: a header row, one column per signal (plus an optional time column).

Here to show that a new format is one class; files are read whole with pandas.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pipeline_project.defs.observations.converters.base import ArraySource, ConversionError, Converter, FileContents


class CsvConverter(Converter):
    type_name = "csv"

    def sources(self, path: Path) -> FileContents:
        try:
            frame = pd.read_csv(path)
        except Exception as exc:
            raise ConversionError(path, f"unreadable CSV: {type(exc).__name__}: {exc}")
        out = FileContents(arrays=[])
        for column in frame.columns:
            values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype="float64")
            if np.isnan(values).all() and frame[column].notna().any():
                out.notes.append(f"{column}: not numeric, skipped")
                continue
            out.arrays.append(ArraySource(str(column), (len(values),),
                                          read_rows=lambda a, b, v=values: v[a:b]))
        return out
