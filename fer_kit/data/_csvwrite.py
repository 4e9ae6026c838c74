"""Write images as FER2013-style CSV files: Kaggle's fer2013.csv and the course's two files.

The writers sit apart from ``io`` so that ``synth`` (which writes SynthFER) and ``io``
(which reads files, and generates SynthFER when there is none) both import them and
neither imports the other's caller: data flows ``_csvwrite -> synth -> io``. Every
file is written atomically (``atomic.write_bytes``), so a reader never sees half a file.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import atomic
from ._csvparse import USAGES

_FORMAT_ROWS = 128  # rows per block when writing
# The text of every value 0-255, as up to three ASCII digits and the number of them.
_DIGITS = np.zeros((256, 3), np.uint8)
_NDIGITS = np.zeros(256, np.int64)
for _v in range(256):
    _s = str(_v).encode()
    _DIGITS[_v, :len(_s)] = np.frombuffer(_s, np.uint8)
    _NDIGITS[_v] = len(_s)


def format_pixels(x: np.ndarray) -> list[bytes]:
    """Format uint8 images (N, 48, 48[, 1]) as the space-separated pixel text of each row.

    A block of rows at a time, by table lookup in NumPy: each value's digits are
    scattered into one byte buffer at offsets from a cumulative sum of the values'
    widths, instead of formatting 2,304 numbers a row in Python.
    """
    flat = np.ascontiguousarray(x, dtype=np.uint8).reshape(len(x), -1)
    rows: list[bytes] = []
    for b0 in range(0, len(flat), _FORMAT_ROWS):
        px = flat[b0:b0 + _FORMAT_ROWS]
        width = _NDIGITS[px] + 1  # digits plus the space after each number
        offsets = np.cumsum(width.ravel()) - width.ravel()
        out = np.full(int(width.sum()), 32, np.uint8)
        for k in range(3):
            m = (_NDIGITS[px] > k).ravel()
            out[offsets[m] + k] = _DIGITS[px.ravel()[m], k]
        row_end = np.cumsum(width.sum(axis=1))
        buf = out.tobytes()
        row_start = np.concatenate(([0], row_end[:-1]))
        rows.extend(buf[s:e - 1] for s, e in zip(row_start.tolist(), row_end.tolist()))
    return rows


def _write_rows(path: str | Path, header: str, firsts: list, pixels: np.ndarray,
                lasts: list | None = None) -> Path:
    rows = format_pixels(pixels)
    parts = [header.encode() + b"\n"]
    for i, px in enumerate(rows):
        line = str(firsts[i]).encode() + b"," + px
        if lasts is not None:
            line += b"," + lasts[i].encode()
        parts.append(line + b"\n")
    return atomic.write_bytes(path, b"".join(parts))


def write_fer2013(path: str | Path, x: np.ndarray, y: np.ndarray, usage) -> Path:
    """Write images, labels and Usage strings (or USAGES indices) as a Kaggle fer2013.csv."""
    usage = [USAGES[u] if not isinstance(u, str) else u for u in np.asarray(usage).tolist()]
    return _write_rows(path, "emotion,pixels,Usage", np.asarray(y).tolist(), x, usage)


def write_train_csv(path: str | Path, x: np.ndarray, y: np.ndarray) -> Path:
    """Write a course train.csv (label,feature)."""
    return _write_rows(path, "label,feature", np.asarray(y).tolist(), x)


def write_test_csv(path: str | Path, x: np.ndarray, ids: np.ndarray | None = None) -> Path:
    """Write a course test.csv (id,feature); ids default to 0..N-1."""
    ids = np.arange(len(x)) if ids is None else np.asarray(ids)
    return _write_rows(path, "id,feature", ids.tolist(), x)
