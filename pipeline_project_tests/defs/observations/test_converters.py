"""Converters: what signals a user gets out of real-world-shaped MATLAB files, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline_project.defs.observations.config import ConverterConfig
from pipeline_project.defs.observations.converters import ConversionError, converter_for, mat_version
from pipeline_project.samples.matfiles import write_v5, write_v73

FILE_TIME = 1_672_660_800.0  # 2023-01-02 12:00 UTC


def read_all(path, **cfg):
    converter = converter_for(path, ConverterConfig(**cfg))
    try:
        rec = converter.open(path, FILE_TIME)
        chunks = list(rec.chunks())
        values = {n: np.concatenate([c.values[n] for c in chunks]) for n in rec.signal_names}
        ts = np.concatenate([c.timestamps_ns for c in chunks])
        return values, ts, rec
    finally:
        converter.close()


def test_v5_matrix_columns_named_from_names_variable(tmp_path):
    x = np.arange(30, dtype=float).reshape(10, 3)
    path = write_v5(tmp_path / "a.mat", {"t": np.arange(10) * 0.5, "X": x,
                                         "names": np.array(["a", "b", "c"], dtype=object)})
    assert mat_version(path) == "v5"
    values, ts, _ = read_all(path)
    assert sorted(values) == ["a", "b", "c"]
    np.testing.assert_array_equal(values["b"], x[:, 1])
    assert ts[1] - ts[0] == 500_000_000  # relative time 0.5 s added to the file time
    assert ts[0] == int(FILE_TIME * 1e9)


def test_v5_unnamed_matrix_struct_ints_and_fs_without_time(tmp_path):
    path = write_v5(tmp_path / "b.mat", {"M": np.ones((50, 2)), "fs": 10.0,
                                         "s": {"x": np.arange(50, dtype=np.int16), "label": "pump"}})
    values, ts, rec = read_all(path)
    assert sorted(values) == ["M_0", "M_1", "s.x"]
    assert values["s.x"].dtype == np.float64 and values["s.x"][-1] == 49
    assert ts[1] - ts[0] == 100_000_000  # fs = 10 Hz from the file's scalar


def test_v5_channels_as_rows_detected_from_time_length(tmp_path):
    x = np.random.default_rng(0).normal(size=(2, 40))
    path = write_v5(tmp_path / "c.mat", {"time": np.arange(40.0), "data": x})
    values, _, _ = read_all(path)
    np.testing.assert_array_equal(values["data_1"], x[1])


def test_v5_datenum_time(tmp_path):
    datenum = 738888.5 + np.arange(5) / 86400  # 2023-01-02 12:00
    path = write_v5(tmp_path / "d.mat", {"t": datenum, "v": np.arange(5.0)})
    _, ts, _ = read_all(path)
    assert abs(ts[0] / 1e9 - FILE_TIME) < 1e-3


def test_v73_transposed_matrix_names_and_struct_read_in_chunks(tmp_path):
    n = 1000
    x = np.random.default_rng(1).normal(size=(n, 3))
    x[5, 0] = np.nan
    path = write_v73(tmp_path / "e.mat", {"t": np.arange(n) / 100.0, "X": x,
                                          "meta": {"temp": np.arange(n, dtype=np.int32)}},
                     names=["p", "q", "r"])
    assert mat_version(path) == "v7.3"
    values, ts, rec = read_all(path, chunk_samples=128)
    assert rec.n_samples == n and sorted(values) == ["meta.temp", "p", "q", "r"]
    np.testing.assert_array_equal(values["q"], x[:, 1])
    assert np.isnan(values["p"][5])
    assert values["meta.temp"][-1] == n - 1
    assert len(ts) == n and ts[1] - ts[0] == 10_000_000


def test_v73_chunks_equal_one_big_read(tmp_path):
    x = np.random.default_rng(2).normal(size=(777, 2))
    path = write_v73(tmp_path / "f.mat", {"X": x})
    small, _, _ = read_all(path, chunk_samples=50)
    big, _, _ = read_all(path, chunk_samples=10_000)
    for name in big:
        np.testing.assert_array_equal(small[name], big[name])


def test_selected_signals_only(tmp_path):
    path = write_v5(tmp_path / "g.mat", {"a": np.arange(5.0), "b": np.arange(5.0)})
    values, _, _ = read_all(path, signals=("b",))
    assert list(values) == ["b"]


@pytest.mark.parametrize("case,expected", [
    ("corrupt", "corrupt"),
    ("unsupported", "unsupported MAT version"),
    ("truncated_v73", "no HDF5 data"),
    ("missing", "missing variables ['pressure']"),
    ("mismatched", "mismatched length"),
    ("all_nan", "all-NaN signals: ['dead']"),
    ("no_signals", "no numeric signal variables"),
])
def test_bad_files_raise_clear_errors_naming_the_file(tmp_path, case, expected):
    path = tmp_path / f"{case}.mat"
    cfg = {}
    if case == "corrupt":
        good = write_v5(tmp_path / "good.mat", {"a": np.arange(1000.0)})
        path.write_bytes(good.read_bytes()[:300])
    elif case == "unsupported":
        path.write_bytes(b"MATLAB 9.9 MAT-file".ljust(124, b" ") + b"\x00\x09IM" + b"\x00" * 400)
    elif case == "truncated_v73":
        path.write_bytes(b"MATLAB 7.3 MAT-file".ljust(124, b" ") + b"\x00\x02IM" + b"\x00" * 400)
    elif case == "missing":
        write_v5(path, {"a": np.arange(5.0)})
        cfg = {"signals": ("pressure",)}
    elif case == "mismatched":
        write_v5(path, {"t": np.arange(10.0), "a": np.arange(10.0), "b": np.arange(7.0)})
    elif case == "all_nan":
        write_v5(path, {"ok": np.arange(5.0), "dead": np.full(5, np.nan)})
    elif case == "no_signals":
        write_v5(path, {"label": "nothing here"})
    with pytest.raises(ConversionError) as info:
        read_all(path, **cfg)
    assert expected in str(info.value)
    assert str(path) in str(info.value)
