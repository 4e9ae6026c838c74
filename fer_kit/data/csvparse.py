"""Parse and write FER2013-style CSV files in one vectorised pass.

Three layouts are read (header names are case-insensitive; ``emotion`` and
``label``, ``pixels`` and ``feature`` are the same column):

=============  ==========================  =====================================
layout         header                      rows
=============  ==========================  =====================================
``fer2013``    ``emotion,pixels,Usage``    Kaggle file; Usage is Training /
                                           PublicTest / PrivateTest
``train``      ``label,feature``           course training file
``test``       ``id,feature``              course test file (no labels)
=============  ==========================  =====================================

Pixels are 2,304 space-separated integers 0-255 per row. The pixel text is
parsed as bytes with NumPy, a block of rows at a time on two threads, several
times faster than a per-row ``np.array(row.split(), float)`` loop; the figures
are in benchmarks/bench_csv.py and the README.

Every problem is reported with the file, the line number (the header is line 1)
and what is wrong. With ``on_error="skip"`` the good rows are kept and every
skipped row is listed with its reason; nothing is dropped silently.
"""
from __future__ import annotations

import os
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import NUM_CLASSES

N_PIXELS = 48 * 48
USAGES = ("Training", "PublicTest", "PrivateTest")
_ALIASES = {"emotion": "label", "label": "label", "pixels": "pixels", "feature": "pixels",
            "usage": "usage", "id": "id"}
_LAYOUTS = {  # layout -> the canonical columns it needs
    "fer2013": {"label", "pixels", "usage"},
    "train": {"label", "pixels"},
    "test": {"id", "pixels"},
}
_BLOCK_ROWS = 128  # rows per NumPy block: ~1 MB of text, so its temporaries stay in cache


class FERDataError(ValueError):
    """A data file the kit cannot read: says which file, which line and what is wrong."""

    def __init__(self, path: str | Path, reason: str, line: int | None = None):
        self.path, self.reason, self.line = str(path), reason, line
        where = f"{self.path}, line {line}" if line is not None else self.path
        super().__init__(f"{where}: {reason}")


@dataclass
class ParsedCSV:
    """The rows of one CSV file that parsed, and the ones that did not.

    Attributes:
        layout: ``fer2013``, ``train`` or ``test``.
        x: uint8 images, shape (N, 48, 48, 1).
        y: int64 labels 0-6, shape (N,); -1 where the file has no labels.
        ids: int64 ids: the ``id`` column, else the 0-based data-row index.
        usage: int8 index into USAGES, shape (N,); -1 where the file has no Usage.
        lines: int64 line number of each row in the file (header = line 1).
        skipped: DataFrame(line, reason) of every row left out.
    """

    layout: str
    x: np.ndarray
    y: np.ndarray
    ids: np.ndarray
    usage: np.ndarray
    lines: np.ndarray
    skipped: pd.DataFrame


def _read_header(path: Path, text: str) -> tuple[str, list[str]]:
    cols = [c.strip().strip('"').strip().lower() for c in text.split(",")]
    canon = [_ALIASES.get(c, c) for c in cols]
    expected = "emotion,pixels,Usage (Kaggle fer2013.csv), label,feature (train.csv) or id,feature (test.csv)"
    if cols and re.fullmatch(r"\d+", cols[0]):
        raise FERDataError(path, f"missing header: the first line is data ({text[:40]!r}...); "
                                 f"expected {expected}", line=1)
    for layout, need in _LAYOUTS.items():
        if set(canon) == need and len(canon) == len(need):
            return layout, canon
    if canon == ["pixels"]:  # Kaggle's challenge test.csv has only pixels
        return "test", canon
    hint = " (is the separator a comma?)" if len(cols) == 1 and len(text) > 8 else ""
    raise FERDataError(path, f"unknown header {text[:80]!r}{hint}; expected {expected}", line=1)


def _describe_bad_token(field: bytes, offset: int) -> str:
    """Explain the token of ``field`` that holds the bad byte at ``offset``."""
    text = field.decode("latin-1")
    start = max(text.rfind(" ", 0, offset), text.rfind("\t", 0, offset)) + 1
    end_candidates = [i for i in (text.find(" ", offset), text.find("\t", offset)) if i >= 0]
    token = text[start:min(end_candidates) if end_candidates else len(text)]
    index = len(text[:start].split()) + 1
    if re.fullmatch(r"[+-]?\d+", token):
        return f"pixel {index}: value {token} outside 0-255"
    return f"pixel {index}: non-integer token {token[:20]!r}"


def parse_pixel_block(fields: list[bytes]) -> tuple[np.ndarray, dict[int, str]]:
    """Parse pixel fields (one bytes object per row) into uint8 rows.

    Works on the bytes of the whole block at once: a number ends where a digit is
    followed by a non-digit, and its value is read from the (at most three) digits
    that end there: one ``np.flatnonzero`` finds the ends, and three gathers at fixed
    offsets from them read the ones, tens and hundreds (3.7-4.3 ns per byte on the
    shared 2-core machine; ``np.fromstring`` would lose the row structure). Only rows
    that fail are looked at again, one by one, to word the error.

    Args:
        fields: the pixel text of each row, e.g. ``b"70 80 82 ..."``.

    Returns:
        (pixels, errors): pixels of shape (len(fields), 2304) uint8 (zeros in
        bad rows) and {row index in ``fields``: reason} for the rows that failed.
    """
    n_rows = len(fields)
    # Two separator bytes first, so the two bytes before any number's last digit exist.
    buf = b"\n".join([b" "] + list(fields) + [b""])  # b" \n" + every row + b"\n"
    b = np.frombuffer(buf, np.uint8)
    newline = np.cumsum([len(f) + 1 for f in fields]) + 1  # (n_rows,) the b"\n" after each row
    d = b - np.uint8(48)  # digit value; >= 10 for any other byte (uint8 wrap-around)
    digit = d < 10
    n_digits = np.count_nonzero(digit)
    errors: dict[int, str] = {}
    if n_digits + np.count_nonzero(b == 32) + n_rows + 1 != len(b):
        ok = digit | (b == 32) | (b == 9) | (b == 10) | (b == 13)  # tabs and CR are fine too
        bad = np.flatnonzero(~ok)
        if bad.size:
            rows, first = np.unique(np.searchsorted(newline, bad), return_index=True)
            for r, pos in zip(rows.tolist(), bad[first].tolist()):
                row_start = newline[r - 1] + 1 if r else 2
                errors[r] = _describe_bad_token(bytes(fields[r]), pos - row_start)
    # The last digit of number t sits at end[t] + 2; slicing d by 0, 1 and 2 reads the
    # hundreds, tens and ones at end[t] without any index arithmetic.
    end = np.flatnonzero(digit[2:-1] > digit[3:])  # (n_numbers,)
    tens, hundreds = d[1:].take(end), d.take(end)
    has_tens = tens < 10  # else a separator: a one-digit number
    has_hundreds = (hundreds < 10) & has_tens
    values = (hundreds * has_hundreds).astype(np.uint16)
    values *= 100
    values += tens * has_tens * np.uint8(10) + d[2:].take(end)
    counts = np.diff(np.searchsorted(end, newline - 2), prepend=0)  # numbers per row
    # A 4th digit ("0042", "1000") or a value over 255 is rare: look at those numbers alone.
    suspect = np.flatnonzero(values > 255)
    if n_digits != len(end) + np.count_nonzero(has_tens) + np.count_nonzero(has_hundreds):
        four = np.zeros_like(has_hundreds)  # a digit before the hundreds digit too
        four[end > 0] = digit.take(end[end > 0] - 1)
        suspect = np.union1d(suspect, np.flatnonzero(four & has_hundreds))
    token_start = np.cumsum(counts) - counts
    for t in suspect.tolist():
        j = int(end[t]) + 3  # one past the last digit
        r = int(np.searchsorted(newline, j - 1))
        if r in errors:
            continue
        i = j - 1
        while digit[i - 1]:  # b[0] is a space: this stops
            i -= 1
        value = int(buf[i:j])
        if value > 255:
            sign = "-" if buf[i - 1:i] == b"-" else ""
            errors[r] = f"pixel {t - token_start[r] + 1}: value {sign}{value} outside 0-255"
        else:
            values[t] = value
    for r in np.flatnonzero(counts != N_PIXELS).tolist():
        if r not in errors:
            found = int(counts[r])
            errors[r] = (f"expected {N_PIXELS} pixel values, found {found}"
                         + (" (empty pixel field)" if found == 0 else ""))
    if not errors:
        return values.astype(np.uint8).reshape(n_rows, N_PIXELS), errors
    out = np.zeros((n_rows, N_PIXELS), np.uint8)
    good = np.ones(n_rows, bool)
    good[list(errors)] = False
    out[good] = values[np.repeat(good, counts)].reshape(-1, N_PIXELS)
    return out, errors


_USAGE_CODE = {u.encode(): k for k, u in enumerate(USAGES)}


def _int_field(raw: bytes) -> int | None:
    """int of a small field (spaces and surrounding quotes allowed), None if it is not one."""
    try:
        return int(raw)  # int() itself ignores surrounding whitespace
    except ValueError:
        try:
            return int(_field(raw))
        except ValueError:
            return None


def _field_count_error(cols: list[str], found: int) -> str:
    return f"expected {len(cols)} fields ({','.join(cols)}), found {found}"


def _field(raw: bytes) -> bytes:
    raw = raw.strip()
    if len(raw) >= 2 and raw[:1] == b'"' and raw[-1:] == b'"':
        return raw[1:-1]
    return raw


@dataclass
class _Rows:
    """What the row scanner collects: the small fields, and the pixel text still to parse."""

    labels: list
    ids: list
    usage: list
    lines: list
    pixel_fields: list
    skipped: dict
    truncated_line: int | None = None


def _scan_rows(data: bytes, pos: int, cols: list[str], on_block) -> _Rows:
    """Read every data row's small fields in Python; hand pixel text to ``on_block`` in blocks."""
    n_cols, i_pix = len(cols), cols.index("pixels")
    i_lab = cols.index("label") if "label" in cols else None
    i_id = cols.index("id") if "id" in cols else None
    i_use = cols.index("usage") if "usage" in cols else None
    n_left, n_right = i_pix, n_cols - 1 - i_pix  # fields before / after the pixel column
    rows = _Rows([], [], [], [], [], {})
    view = memoryview(data)  # pixel fields are sliced without copying
    line_no, size = 1, len(data)

    def small(bounds, k) -> bytes:
        return _field(data[bounds[k] + 1:bounds[k + 1]])

    while pos < size:
        end = data.find(b"\n", pos)
        if end < 0:
            end = size
            rows.truncated_line = line_no + 1  # last line has no newline: maybe cut short
        line_no += 1
        stop = end - 1 if end > pos and data[end - 1] == 13 else end  # CRLF
        start, pos = pos, end + 1
        if stop - start < 8 and not data[start:stop].strip():
            continue  # blank line: not a row
        # Small fields are found from both ends; an extra comma stays inside the pixel
        # field, where the pixel parser trips on it and the count below names it.
        bounds, reason = [start - 1], None
        for _ in range(n_left):
            bounds.append(data.find(b",", bounds[-1] + 1, stop))
        right = [stop]
        for _ in range(n_right):
            right.insert(0, data.rfind(b",", bounds[-1] + 1, right[0]))
        bounds += right
        lab, ident, use = -1, -1, -1
        if -1 in bounds:
            reason = "missing field"
        if reason is None and i_lab is not None:
            lab = _int_field(data[bounds[i_lab] + 1:bounds[i_lab + 1]])
            if lab is None:
                reason = f"label {small(bounds, i_lab).decode('latin-1')[:20]!r} is not an integer"
            elif not 0 <= lab < NUM_CLASSES:
                reason = f"label {lab} outside 0-{NUM_CLASSES - 1}"
        if reason is None and i_id is not None:
            ident = _int_field(data[bounds[i_id] + 1:bounds[i_id + 1]])
            if ident is None:
                reason = f"id {small(bounds, i_id).decode('latin-1')[:20]!r} is not an integer"
        if reason is None and i_use is not None:
            use = _USAGE_CODE.get(data[bounds[i_use] + 1:bounds[i_use + 1]])
            if use is None:
                use = _USAGE_CODE.get(small(bounds, i_use))
            if use is None:
                reason = (f"Usage {small(bounds, i_use).decode('latin-1')[:20]!r} is not one of "
                          f"{', '.join(USAGES)}")
        if reason is not None:
            n_fields = data.count(b",", start, stop) + 1  # bad rows only: a column missing/extra?
            rows.skipped[line_no] = (_field_count_error(cols, n_fields) if n_fields != n_cols
                                     else reason)
            continue
        p0, p1 = bounds[i_pix] + 1, bounds[i_pix + 1]
        if data[p0:p0 + 1] == b'"' and data[p1 - 1:p1] == b'"':
            p0, p1 = p0 + 1, p1 - 1
        rows.labels.append(lab)
        rows.ids.append(ident if i_id is not None else len(rows.lines) + len(rows.skipped))
        rows.usage.append(use)
        rows.lines.append(line_no)
        rows.pixel_fields.append(view[p0:p1])
        if len(rows.pixel_fields) % _BLOCK_ROWS == 0:
            on_block(rows.pixel_fields[-_BLOCK_ROWS:])
    if len(rows.pixel_fields) % _BLOCK_ROWS:
        on_block(rows.pixel_fields[-(len(rows.pixel_fields) % _BLOCK_ROWS):])
    return rows


def _parse_pixels_threaded(data: bytes, pos: int, cols: list[str]):
    """Scan rows and parse pixel blocks on two threads at once; returns (rows, block results)."""
    pool = ThreadPoolExecutor(min(2, os.cpu_count() or 1))  # NumPy releases the GIL
    futures = []
    interval = sys.getswitchinterval()
    # The scanning loop holds the GIL; a short switch interval lets the threads' NumPy
    # calls start without waiting up to 5 ms each.
    sys.setswitchinterval(1e-4)
    try:
        rows = _scan_rows(data, pos, cols, lambda block: futures.append(
            pool.submit(parse_pixel_block, block)))
        results = [f.result() for f in futures]
    finally:
        sys.setswitchinterval(interval)
        pool.shutdown(cancel_futures=True)
    return rows, results


def parse_bytes(data: bytes, path: str | Path = "<bytes>") -> ParsedCSV:
    """Parse the bytes of a FER CSV file; never raises for a bad row, only lists it.

    Raises:
        FERDataError: for an empty file or a missing/unknown header (nothing to read).
    """
    path = Path(path)
    if data.startswith(b"\xef\xbb\xbf"):  # UTF-8 byte-order mark from Excel/Notepad
        data = data[3:]
    if re.search(rb"\S", data) is None:  # (data.strip() would copy the whole file)
        raise FERDataError(path, "empty file (no header, no rows)")
    end = data.find(b"\n")
    header_end = len(data) if end < 0 else end
    layout, cols = _read_header(path, data[:header_end].decode("utf-8", "replace").strip())
    rows, results = _parse_pixels_threaded(data, header_end + 1, cols)

    skipped = rows.skipped
    keep = np.ones(len(rows.lines), bool)
    for b0, (_, errs) in zip(range(0, len(rows.lines), _BLOCK_ROWS), results):
        for r, reason in errs.items():
            keep[b0 + r] = False
            n_commas = bytes(rows.pixel_fields[b0 + r]).count(b",")
            if n_commas:  # the pixel parser tripped on an extra column
                reason = _field_count_error(cols, len(cols) + n_commas)
            skipped[rows.lines[b0 + r]] = reason
    pixels = (np.concatenate([px for px, _ in results]) if results
              else np.zeros((0, N_PIXELS), np.uint8))
    lines = np.asarray(rows.lines, np.int64)
    ids = np.asarray(rows.ids, np.int64)
    if "id" in cols:  # duplicate ids: the later occurrence is the bad row
        order = np.argsort(ids, kind="stable")  # stable: the first line of an id comes first
        sorted_ids = ids[order]
        first_of = order[np.searchsorted(sorted_ids, sorted_ids, side="left")]
        for j in np.flatnonzero(sorted_ids[1:] == sorted_ids[:-1]).tolist():
            again, first = order[j + 1], first_of[j + 1]
            keep[again] = False
            skipped[int(lines[again])] = f"duplicate id {ids[again]} (first on line {lines[first]})"
    if rows.truncated_line in skipped:
        skipped[rows.truncated_line] = ("truncated last line (no line end; is the download "
                                        "incomplete?): " + skipped[rows.truncated_line])
    report = pd.DataFrame({"line": list(skipped), "reason": list(skipped.values())},
                          columns=["line", "reason"]).sort_values("line", ignore_index=True)
    if not keep.all():
        pixels = pixels[keep]
    return ParsedCSV(layout=layout, x=pixels.reshape(-1, 48, 48, 1),
                     y=np.asarray(rows.labels, np.int64)[keep], ids=ids[keep],
                     usage=np.asarray(rows.usage, np.int8)[keep], lines=lines[keep],
                     skipped=report)


# ---- writing ---------------------------------------------------------------------------
_DIGITS = np.zeros((256, 3), np.uint8)
_NDIGITS = np.zeros(256, np.int64)
for _v in range(256):
    _s = str(_v).encode()
    _DIGITS[_v, :len(_s)] = np.frombuffer(_s, np.uint8)
    _NDIGITS[_v] = len(_s)


def format_pixels(x: np.ndarray) -> list[bytes]:
    """Format uint8 images (N, 48, 48[, 1]) as the space-separated pixel text of each row."""
    flat = np.ascontiguousarray(x, dtype=np.uint8).reshape(len(x), -1)
    rows: list[bytes] = []
    for b0 in range(0, len(flat), _BLOCK_ROWS):
        px = flat[b0:b0 + _BLOCK_ROWS]
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
