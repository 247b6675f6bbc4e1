"""Converters: raw file -> signals. `converter_for(path, config)` picks one per file."""

from __future__ import annotations

from pathlib import Path

from pipeline_project.defs.observations.config import ConverterConfig
from pipeline_project.defs.observations.converters.base import ConversionError, Converter, Recording
from pipeline_project.defs.observations.converters.csv import CsvConverter
from pipeline_project.defs.observations.converters.mat_v5 import MatV5Converter
from pipeline_project.defs.observations.converters.mat_v73 import MatV73Converter

__all__ = ["ConversionError", "Converter", "Recording", "converter_for", "mat_version"]

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def mat_version(path: Path) -> str:
    """'v4', 'v5' or 'v7.3' from the header; ConversionError when it is none of those."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(128)
            fh.seek(512)
            hdf5 = fh.read(8) == _HDF5_SIGNATURE
    except OSError as exc:
        raise ConversionError(path, f"cannot read file: {exc}") from None
    if len(head) < 20:
        raise ConversionError(path, f"corrupt MAT file: only {len(head)} bytes")
    if head.startswith(b"MATLAB"):
        if len(head) < 128:
            raise ConversionError(path, "corrupt MAT file: truncated 128-byte header")
        version = int.from_bytes(head[124:126], "little" if head[126:128] == b"IM" else "big")
        if version == 0x0200:
            if not hdf5:
                raise ConversionError(path, "header says MAT v7.3 but no HDF5 data at byte 512")
            return "v7.3"
        if version == 0x0100:
            return "v5"
        raise ConversionError(path, f"unsupported MAT version 0x{version:04x} in header")
    if head.startswith(_HDF5_SIGNATURE):
        return "v7.3"  # plain HDF5 without the MATLAB userblock: read it the same way
    if head[0:4] in (b"\x00\x00\x00\x00", b"\x0a\x00\x00\x00", b"\x0b\x00\x00\x00") or head[3] == 0:
        return "v4"  # v4 has no text header; scipy checks the rest
    raise ConversionError(path, "unsupported or corrupt file: no MATLAB header")


def converter_for(path: Path, config: ConverterConfig) -> Converter:
    kind = config.type
    if kind == "mat":
        return MatV73Converter(config) if mat_version(path) == "v7.3" else MatV5Converter(config)
    if kind == "mat_v73":
        return MatV73Converter(config)
    if kind == "mat_v5":
        return MatV5Converter(config)
    if kind == "csv":
        return CsvConverter(config)
    raise ConversionError(path, f"unknown converter.type {kind!r} (mat, mat_v5, mat_v73, csv)")
