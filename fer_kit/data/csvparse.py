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
parsed as bytes with NumPy, a block of rows at a time, so a 35,887-row file
takes about a second instead of the half-minute of a per-row
``np.array(row.split(), float)`` loop; see benchmarks/bench_csv.py.

Every problem is reported with the file, the line number (the header is line 1)
and what is wrong. With ``on_error="skip"`` the good rows are kept and every
skipped row is listed with its reason; nothing is dropped silently.
"""
from __future__ import annotations

import re
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
_BLOCK_ROWS = 2048  # rows parsed per NumPy pass: bounds temporary memory to ~150 MB


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

    Args:
        fields: the pixel text of each row, e.g. ``b"70 80 82 ..."``.

    Returns:
        (pixels, errors): pixels of shape (len(fields), 2304) uint8 (zeros in
        bad rows) and {row index in ``fields``: reason} for the rows that failed.
    """
    n_rows = len(fields)
    buf = b"\n".join(fields) + b"\n"
    b = np.frombuffer(buf, np.uint8)
    newline = np.flatnonzero(b == 10)  # (n_rows,) end of each row
    digit = (b - 48) < 10  # uint8 wrap-around: True exactly for b'0'..b'9'
    ok_byte = digit | (b == 32) | (b == 9) | (b == 10) | (b == 13)
    errors: dict[int, str] = {}
    if not ok_byte.all():
        bad = np.flatnonzero(~ok_byte)
        bad_rows = np.searchsorted(newline, bad)
        rows, first = np.unique(bad_rows, return_index=True)
        for r, pos in zip(rows.tolist(), bad[first].tolist()):
            row_start = newline[r - 1] + 1 if r else 0
            errors[r] = _describe_bad_token(fields[r], pos - row_start)
    prev = np.concatenate(([False], digit[:-1]))
    nxt = np.concatenate((digit[1:], [False]))
    starts = np.flatnonzero(digit & ~prev)  # (n_tokens,) first digit of each number
    ends = np.flatnonzero(digit & ~nxt) + 1
    lengths = ends - starts
    token_row = np.searchsorted(newline, starts)
    counts = np.bincount(token_row, minlength=n_rows)
    values = (b[starts] - 48).astype(np.int32)
    for k in (1, 2):  # numbers of up to three digits, one digit position per pass
        m = lengths > k
        values[m] = values[m] * 10 + (b[starts[m] + k] - 48)
    for t in np.flatnonzero(lengths > 3).tolist():  # rare: leading zeros or too large
        values[t] = min(int(buf[starts[t]:ends[t]]), 1 << 30)
    too_big = np.flatnonzero(values > 255)
    if too_big.size:
        for t in too_big[np.unique(token_row[too_big], return_index=True)[1]].tolist():
            r = int(token_row[t])
            if r not in errors:
                index = t - (counts[:r].sum()) + 1
                errors[r] = f"pixel {index}: value {values[t]} outside 0-255"
    for r in np.flatnonzero(counts != N_PIXELS).tolist():
        if r not in errors:
            found = int(counts[r])
            errors[r] = (f"expected {N_PIXELS} pixel values, found {found}"
                         + (" (empty pixel field)" if found == 0 else ""))
    good = np.ones(n_rows, bool)
    good[list(errors)] = False
    out = np.zeros((n_rows, N_PIXELS), np.uint8)
    if good.all():
        out[:] = values.reshape(n_rows, N_PIXELS)
    elif good.any():
        out[good] = values[good[token_row]].reshape(-1, N_PIXELS)
    return out, errors


def _field(raw: bytes) -> bytes:
    raw = raw.strip()
    if len(raw) >= 2 and raw[:1] == b'"' and raw[-1:] == b'"':
        return raw[1:-1]
    return raw


def parse_bytes(data: bytes, path: str | Path = "<bytes>") -> ParsedCSV:
    """Parse the bytes of a FER CSV file; never raises for a bad row, only lists it.

    Raises:
        FERDataError: for an empty file or a missing/unknown header (nothing to read).
    """
    path = Path(path)
    if data.startswith(b"\xef\xbb\xbf"):  # UTF-8 byte-order mark from Excel/Notepad
        data = data[3:]
    if not data.strip():
        raise FERDataError(path, "empty file (no header, no rows)")
    end = data.find(b"\n")
    header_end = len(data) if end < 0 else end
    layout, cols = _read_header(path, data[:header_end].decode("utf-8", "replace").strip())
    n_cols = len(cols)
    i_pix = cols.index("pixels")
    i_lab = cols.index("label") if "label" in cols else None
    i_id = cols.index("id") if "id" in cols else None
    i_use = cols.index("usage") if "usage" in cols else None

    labels, ids, usage, lines, pixel_fields = [], [], [], [], []
    skipped: dict[int, str] = {}
    line_no, pos, size = 1, header_end + 1, len(data)
    truncated_line = None
    while pos < size:
        end = data.find(b"\n", pos)
        if end < 0:
            end = size
            truncated_line = line_no + 1  # last line has no newline: maybe cut short
        line_no += 1
        stop = end - 1 if end > pos and data[end - 1] == 13 else end  # CRLF
        start, pos = pos, end + 1
        if not data[start:stop].strip():
            continue  # blank line: not a row
        n_commas = data.count(b",", start, stop)
        if n_commas != n_cols - 1:
            skipped[line_no] = (f"expected {n_cols} fields ({','.join(cols)}), found "
                                f"{n_commas + 1}")
            continue
        fields = [_field(p) for p in data[start:stop].split(b",")]
        reason, lab, ident, use = None, -1, -1, ""
        try:
            if i_lab is not None:
                lab = int(fields[i_lab])
                if not 0 <= lab < NUM_CLASSES:
                    reason = f"label {lab} outside 0-{NUM_CLASSES - 1}"
            if i_id is not None:
                ident = int(fields[i_id])
        except ValueError:
            col = "label" if i_lab is not None else "id"
            bad = fields[i_lab if i_lab is not None else i_id]
            reason = f"{col} {bad.decode('latin-1')[:20]!r} is not an integer"
        if reason is None and i_use is not None:
            use = fields[i_use].decode("latin-1")
            if use not in USAGES:
                reason = f"Usage {use[:20]!r} is not one of {', '.join(USAGES)}"
        if reason is not None:
            skipped[line_no] = reason
            continue
        labels.append(lab)
        ids.append(ident if i_id is not None else len(lines) + len(skipped))
        usage.append(USAGES.index(use) if i_use is not None else -1)
        lines.append(line_no)
        pixel_fields.append(fields[i_pix])

    blocks, keep = [], np.ones(len(lines), bool)
    for b0 in range(0, len(pixel_fields), _BLOCK_ROWS):
        px, errs = parse_pixel_block(pixel_fields[b0:b0 + _BLOCK_ROWS])
        blocks.append(px)
        for r, reason in errs.items():
            keep[b0 + r] = False
            skipped[lines[b0 + r]] = reason
    pixels = np.concatenate(blocks) if blocks else np.zeros((0, N_PIXELS), np.uint8)
    lines_a = np.asarray(lines, np.int64)
    ids_a = np.asarray(ids, np.int64)
    if i_id is not None:  # duplicate ids: the later occurrence is the bad row
        order = np.argsort(ids_a, kind="stable")  # stable: the first line of an id comes first
        sorted_ids = ids_a[order]
        first_of = order[np.searchsorted(sorted_ids, sorted_ids, side="left")]
        for j in np.flatnonzero(sorted_ids[1:] == sorted_ids[:-1]).tolist():
            again, first = order[j + 1], first_of[j + 1]
            keep[again] = False
            skipped[int(lines_a[again])] = (f"duplicate id {ids_a[again]} "
                                            f"(first on line {lines_a[first]})")
    if truncated_line is not None and truncated_line in skipped:
        skipped[truncated_line] = ("truncated last line (no line end; is the download "
                                   "incomplete?): " + skipped[truncated_line])
    report = pd.DataFrame({"line": list(skipped), "reason": list(skipped.values())},
                          columns=["line", "reason"]).sort_values("line", ignore_index=True)
    return ParsedCSV(layout=layout,
                     x=pixels[keep].reshape(-1, 48, 48, 1),
                     y=np.asarray(labels, np.int64)[keep],
                     ids=ids_a[keep], usage=np.asarray(usage, np.int8)[keep],
                     lines=lines_a[keep], skipped=report)


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
