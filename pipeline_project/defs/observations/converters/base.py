"""The converter interface: a raw file -> validated signals -> chunks of samples.

A converter only has to list the file's numeric arrays as `ArraySource`s (shape + a slice
reader). Everything else is shared: picking the time variable, orienting 2-D matrices
(channels as columns by default), naming channels, checking lengths and all-NaN signals,
turning time into UTC timestamps and streaming fixed-size chunks. Adding a CSV or Parquet
converter is one subclass implementing `sources()`.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from pipeline_project.defs.observations.config import ConverterConfig
from pipeline_project.lib.text import storable

TIME_CANDIDATES = ("t", "time", "times", "timestamp", "timestamps", "tt", "time_s", "datetime")
NAMES_CANDIDATES = ("names", "channel_names", "channels", "labels", "signal_names", "varnames")
RATE_CANDIDATES = ("fs", "srate", "sampling_rate", "sample_rate", "samplingrate", "sr", "rate")
MATLAB_EPOCH_DATENUM = 719529.0  # datenum('1970-01-01')


class ConversionError(Exception):
    """A file could not be turned into signals; the message names the file and the reason."""

    def __init__(self, path: Path | str, reason: str):
        # storable: a file name with undecodable bytes must not make logging the error fail too
        super().__init__(storable(f"{path}: {reason}"))
        self.path = storable(str(path))
        self.reason = storable(reason)


@dataclass
class ArraySource:
    """One numeric array of a file, in MATLAB orientation (rows x cols), read lazily by rows."""

    name: str
    shape: tuple[int, ...]
    read_rows: Callable[[int, int], np.ndarray]  # (start, stop) -> array[stop-start, cols]
    read_cols: Callable[[int, int], np.ndarray] | None = None  # for rows-as-channels matrices


@dataclass
class FileContents:
    arrays: list[ArraySource]
    scalars: dict[str, float] = field(default_factory=dict)
    strings: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # variables skipped, and why


@dataclass
class Chunk:
    timestamps_ns: np.ndarray  # int64 ns since the Unix epoch, UTC
    values: dict[str, np.ndarray]  # signal -> float64, same length as timestamps


@dataclass
class _Signal:
    name: str
    read: Callable[[int, int], np.ndarray]  # (start, stop) -> float64 1-D


class Recording:
    """A validated file: signal names, sample count, and a chunk iterator."""

    def __init__(self, path: Path, signals: list[_Signal], n: int, time: _Signal | None,
                 time_format: str, rate_hz: float, file_time: float, chunk: int, notes: list[str]):
        self.path, self.signals, self.n_samples = path, signals, n
        self._time, self._format, self._rate = time, time_format, rate_hz
        self._file_time, self._chunk, self.notes = file_time, chunk, notes

    @property
    def signal_names(self) -> list[str]:
        return [s.name for s in self.signals]

    def _timestamps_ns(self, start: int, stop: int) -> np.ndarray:
        """int64 ns. Relative offsets are added to the file time in integers: float seconds since
        1970 only carry ~0.2 us, which would jitter a 100 Hz clock."""
        base = int(round(self._file_time * 1e6)) * 1000
        if self._time is None:
            offsets = np.arange(start, stop, dtype="float64") / self._rate
            return base + np.round(offsets * 1e9).astype("int64")
        raw = self._time.read(start, stop)
        fmt = self._format
        if fmt == "auto":  # decide on the first sample, so every chunk decides the same way
            first = self._time.read(0, 1)[0]
            fmt = "datenum" if 6e5 < first < 8e5 else "posix" if first > 1e8 else "relative"
        if fmt == "datenum":
            return np.round((raw - MATLAB_EPOCH_DATENUM) * 86400.0 * 1e6).astype("int64") * 1000
        if fmt == "posix":
            return np.round(raw * 1e6).astype("int64") * 1000
        return base + np.round(raw * 1e9).astype("int64")

    def start_time(self) -> float:
        return float(self._timestamps_ns(0, 1)[0]) / 1e9 if self.n_samples else self._file_time

    def chunks(self) -> Iterator[Chunk]:
        for start in range(0, self.n_samples, self._chunk):
            stop = min(start + self._chunk, self.n_samples)
            yield Chunk(self._timestamps_ns(start, stop), {s.name: s.read(start, stop) for s in self.signals})


def _lookup(names: dict[str, object], wanted: str | None, candidates: tuple[str, ...]):
    if wanted:
        return wanted if wanted in names else None
    lowered = {n.lower(): n for n in names}
    return next((lowered[c] for c in candidates if c in lowered), None)


def _as_float(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype="float64")


class Converter(abc.ABC):
    """Base class: subclasses list a file's arrays; `open` validates and builds the Recording."""

    type_name: str = ""

    def __init__(self, config: ConverterConfig):
        self.config = config

    @abc.abstractmethod
    def sources(self, path: Path) -> FileContents:
        """Open `path` and describe its arrays (lazily). Raise ConversionError if unreadable."""

    def close(self) -> None:
        """Release any open handle from the last `sources` call."""

    def open(self, path: Path, file_time: float) -> Recording:
        contents = self.sources(path)
        cfg = self.config
        by_name = {a.name: a for a in contents.arrays}
        time_name = _lookup(by_name, cfg.time_variable, TIME_CANDIDATES)
        if cfg.time_variable and time_name is None:
            raise ConversionError(path, f"missing time variable {cfg.time_variable!r}")
        names_key = _lookup(contents.strings, cfg.names_variable, NAMES_CANDIDATES)
        if cfg.names_variable and names_key is None:
            raise ConversionError(path, f"missing names variable {cfg.names_variable!r}")
        channel_names = contents.strings.get(names_key, []) if names_key else []
        time_src = by_name.get(time_name) if time_name else None
        if time_src is not None and len(time_src.shape) == 2 and min(time_src.shape) > 1:
            raise ConversionError(path, f"time variable {time_name!r} is a {time_src.shape} matrix")
        n_time = max(time_src.shape) if time_src is not None else None
        candidates = [a for a in contents.arrays if a.name != time_name]
        if cfg.signals:
            missing = [s for s in cfg.signals if s not in by_name]
            if missing:
                raise ConversionError(path, f"missing variables {missing} (has {sorted(by_name)})")
            candidates = [a for a in candidates if a.name in cfg.signals]
        signals: list[_Signal] = []
        for src in candidates:
            signals += self._expand(path, src, n_time, channel_names)
        if not signals:
            raise ConversionError(path, f"no numeric signal variables (found {sorted(by_name) or 'none'})")
        lengths = {s.name: n for s, n in signals}
        n = n_time if n_time is not None else max(lengths.values())
        bad = {k: v for k, v in lengths.items() if v != n}
        if bad:
            what = f"time variable {time_name!r} has {n}" if n_time is not None else f"longest has {n}"
            raise ConversionError(path, f"signals of mismatched length: {bad} ({what} samples)")
        if n == 0:
            raise ConversionError(path, "signals are empty (0 samples)")
        rate = cfg.sampling_rate_hz
        rate_key = _lookup(contents.scalars, None, RATE_CANDIDATES)
        if rate_key and contents.scalars[rate_key] > 0:
            rate = float(contents.scalars[rate_key])
        time_signal = _Signal(time_name, self._vector_reader(time_src)) if time_src is not None else None
        recording = Recording(path, [s for s, _ in signals], n, time_signal, cfg.time_format, rate,
                              file_time, max(1, cfg.chunk_samples), contents.notes)
        self._check_all_nan(path, recording)
        return recording

    @staticmethod
    def _vector_reader(src: ArraySource) -> Callable[[int, int], np.ndarray]:
        if len(src.shape) == 1 or src.shape[1] == 1:
            return lambda a, b: _as_float(src.read_rows(a, b)).reshape(-1)
        return lambda a, b: _as_float(src.read_cols(a, b)).reshape(-1)  # a 1 x n row vector

    def _expand(self, path: Path, src: ArraySource, n_time: int | None, channel_names: list[str]):
        """One array -> [(signal, length)]: vectors as-is, matrices split into channels."""
        shape = src.shape
        if len(shape) == 1 or (len(shape) == 2 and min(shape) == 1):
            return [(_Signal(src.name, self._vector_reader(src)), max(shape))]
        rows, cols = shape
        layout = self.config.channels
        if layout == "auto":
            if n_time is not None and rows != n_time and cols == n_time:
                layout = "rows"
            elif n_time is not None and rows == n_time:
                layout = "columns"
            else:  # a recording has more samples than channels
                layout = "columns" if rows >= cols else "rows"
        k, n = (cols, rows) if layout == "columns" else (rows, cols)
        names = channel_names if len(channel_names) == k else [f"{src.name}_{i}" for i in range(k)]
        out = []
        for i, name in enumerate(names):
            if layout == "columns":
                reader = (lambda a, b, i=i: _as_float(src.read_rows(a, b)[:, i]))
            else:
                reader = (lambda a, b, i=i: _as_float(src.read_cols(a, b)[i, :]))
            out.append((_Signal(str(name), reader), n))
        return out

    @staticmethod
    def _check_all_nan(path: Path, recording: Recording) -> None:
        """Stops scanning a signal at its first finite value, so this is one chunk in practice."""
        pending = set(recording.signal_names)
        step = recording._chunk
        for start in range(0, recording.n_samples, step):
            stop = min(start + step, recording.n_samples)
            for sig in recording.signals:
                if sig.name in pending and np.isfinite(sig.read(start, stop)).any():
                    pending.discard(sig.name)
            if not pending:
                return
        raise ConversionError(path, f"all-NaN signals: {sorted(pending)}")
