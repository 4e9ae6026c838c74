"""Parse FER2013-style CSV files in one vectorised pass (the writer is ``_csvwrite``).

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

Pixels are 2,304 space-separated integers 0-255 per row. The small fields are
read row by row in Python; the pixel text is parsed as bytes with NumPy, a block
of rows at a time, by the calling thread and helper threads together (one per
core, up to four), straight into one output array: many times faster than a
per-row ``np.array(row.split(), float)`` loop; the figures are in
benchmarks/bench_csv.py and the README.

Every problem is reported with the file, the line number (the header is line 1)
and what is wrong. With ``on_error="skip"`` the good rows are kept and every
skipped row is listed with its reason; nothing is dropped silently.
"""
from __future__ import annotations

import os
import re
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
_BLOCK_ROWS = 32  # rows per NumPy block: ~260 KB of text, so its work arrays stay in cache


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


class _Scratch:
    """One thread's work arrays for ``parse_pixel_block``, reused from block to block.

    New temporaries for every NumPy step of every block cost more than the arithmetic
    (each is a fresh allocation whose pages the kernel faults in and zeroes); reused
    ones stay in the core's cache.
    """

    size = 0

    def reserve(self, n: int) -> "_Scratch":
        if n > self.size:
            self.size = n + n // 4  # room for somewhat longer blocks
            self.d = np.empty(self.size, np.uint8)
            self.digit = np.empty(self.size, bool)
            self.mask = np.empty(self.size, bool)
            self.mask2 = np.empty(self.size, bool)
            self.low = np.empty(self.size, np.uint8)
            self.value = np.empty(self.size, np.uint16)
            # one value per number; a number and its separator take at least two bytes
            self.picked = np.empty(self.size // 2, np.uint16)
        return self


def _parse_clean_block(b: np.ndarray, newline: np.ndarray, out: np.ndarray,
                       s: _Scratch) -> bool:
    """The fast path of ``parse_pixel_block``: fill ``out`` and return True if the block is clean.

    Clean: only digits and spaces in the fields, every row 2304 numbers, none of four or
    more digits or over 255. Each of these is checked with a count or a comparison over
    the whole block; anything else returns False and leaves the block to the careful
    pass, which finds and words each row's problem.

    Args:
        b: the block's bytes: b" \\n", then every row's pixel text followed by b"\\n".
        newline: (n_rows,) the position in ``b`` of the b"\\n" that ends each row.
        out: (n_rows, 2304) uint8 C-contiguous array to fill.
        s: this thread's work arrays.
    """
    n, n_rows = len(b), len(newline)
    s.reserve(n)
    d = np.subtract(b, 48, out=s.d[:n])  # digit value; >= 10 for any other byte (uint8 wraps)
    digit = np.less(d, 10, out=s.digit[:n])
    n_spaces = np.count_nonzero(np.equal(b, 32, out=s.mask[:n]))
    if np.count_nonzero(digit) + n_spaces + n_rows + 1 != n:  # the b"\n"s are ours
        return False  # some other byte: a sign, a dot, a letter, a comma, a tab...
    run2 = np.logical_and(digit[:-1], digit[1:], out=s.mask[:n - 1])  # 2 digits from here
    if np.count_nonzero(np.logical_and(run2[:-2], run2[2:], out=s.mask2[:n - 3])):
        return False  # 4 digits in a row ("0042" or "1000")
    np.multiply(d, digit, out=d)  # digit values, 0 at separators
    # The number whose last digit is byte k + 2 is value[k]: hundreds at byte k (when
    # byte k + 1 is a digit too, else byte k belongs to the number before), tens at
    # byte k + 1 (0 if it is a separator), ones at byte k + 2.
    value = np.multiply(d[:-2], digit[1:-1], out=s.value[:n - 2])
    value *= 100
    low = np.multiply(d[1:-1], 10, out=s.low[:n - 2])
    low += d[2:]
    value += low
    ends = np.flatnonzero(np.greater(digit[2:-1], digit[3:], out=s.mask[:n - 3]))  # the k's
    if len(ends) != n_rows * N_PIXELS:
        return False
    # and 2304 in every row: each row's 2304th number ends before the row's b"\n" (at
    # byte k + 2 < newline), and the next number after it
    if not ((ends[N_PIXELS - 1::N_PIXELS] < newline - 2).all()
            and (ends[N_PIXELS::N_PIXELS] > newline[:-1] - 2).all()):
        return False
    picked = np.take(value, ends, out=s.picked[:len(ends)], mode="clip")  # (clip: unbuffered)
    if picked.max() > 255:
        return False
    np.copyto(out.reshape(-1), picked, casting="unsafe")
    return True


def _parse_checked_block(buf: bytes, fields: list, newline: np.ndarray
                         ) -> tuple[np.ndarray, dict[int, str]]:
    """The careful pass of ``parse_pixel_block``: every row's value, or what is wrong with it.

    Same arithmetic as the fast path, on fresh arrays, but it also reads numbers of four
    or more digits and says which byte, number or count is wrong in each bad row.
    """
    n_rows = len(fields)
    b = np.frombuffer(buf, np.uint8)
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


def parse_pixel_block(fields: list, out: np.ndarray | None = None,
                      scratch: _Scratch | None = None) -> tuple[np.ndarray, dict[int, str]]:
    """Parse pixel fields (one bytes-like object per row) into uint8 rows.

    Works on the bytes of the whole block at once: a number ends where a digit is
    followed by a non-digit, and its value is read from the (at most three) digits that
    end there: one ``np.flatnonzero`` finds the ends, and one gather reads the values,
    worked out for every byte position beforehand from the digits at fixed offsets
    (``np.fromstring`` would lose the row structure). A clean block, the usual case, is
    checked with a few counts (about 3 ns per byte of text in all, on one core of the
    shared 2-core machine); only a block that fails them is read again, carefully, to
    word each bad row's error.

    Args:
        fields: the pixel text of each row, e.g. ``b"70 80 82 ..."``.
        out: a C-contiguous uint8 array (len(fields), 2304) to fill; default: a new one.
        scratch: work arrays to reuse, one ``_Scratch`` per thread; default: new ones.

    Returns:
        (pixels, errors): pixels of shape (len(fields), 2304) uint8 (``out`` if given;
        zeros in bad rows) and {row index in ``fields``: reason} for the rows that failed.
    """
    if out is None:
        out = np.empty((len(fields), N_PIXELS), np.uint8)
    if not fields:
        return out, {}
    # Two separator bytes first, so the two bytes before any number's last digit exist.
    buf = b"\n".join([b" ", *fields, b""])  # b" \n" + every row + b"\n"
    newline = np.cumsum([len(f) + 1 for f in fields]) + 1  # (n_rows,) the b"\n" after each row
    if _parse_clean_block(np.frombuffer(buf, np.uint8), newline, out, scratch or _Scratch()):
        return out, {}
    pixels, errors = _parse_checked_block(buf, fields, newline)
    out[...] = pixels
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


def _read_row(data, start: int, stop: int, cols: list[str]) -> tuple | str:
    """Read the row ``data[start:stop]`` field by field, or say why it is bad.

    Returns:
        (label, id, usage, p0, p1), -1 for a column the layout lacks, the pixel text
        being ``data[p0:p1]``; or the reason the row is bad.
    """
    n_cols, i_pix = len(cols), cols.index("pixels")
    # Small fields are found from both ends; an extra comma stays inside the pixel
    # field, where the pixel parser trips on it and parse_bytes names it.
    bounds = [start - 1]
    for _ in range(i_pix):
        bounds.append(data.find(b",", bounds[-1] + 1, stop))
    p0 = bounds[-1] + 1
    right = [stop]
    for _ in range(n_cols - 1 - i_pix):
        right.append(data.rfind(b",", p0, right[-1]))
    bounds += reversed(right)
    if -1 in bounds:
        reason = "missing field"
    else:
        raw = {c: data[bounds[k] + 1:bounds[k + 1]] for k, c in enumerate(cols) if c != "pixels"}
        lab, ident, use, reason = -1, -1, -1, None
        if "label" in cols:
            lab = _int_field(raw["label"])
            if lab is None:
                reason = f"label {_field(raw['label']).decode('latin-1')[:20]!r} is not an integer"
            elif not 0 <= lab < NUM_CLASSES:
                reason = f"label {lab} outside 0-{NUM_CLASSES - 1}"
        if reason is None and "id" in cols:
            ident = _int_field(raw["id"])
            if ident is None:
                reason = f"id {_field(raw['id']).decode('latin-1')[:20]!r} is not an integer"
        if reason is None and "usage" in cols:
            use = _USAGE_CODE.get(raw["usage"], _USAGE_CODE.get(_field(raw["usage"])))
            if use is None:
                reason = (f"Usage {_field(raw['usage']).decode('latin-1')[:20]!r} is not one "
                          f"of {', '.join(USAGES)}")
    if reason is not None:
        n_fields = data[start:stop].count(b",") + 1  # a column missing or extra?
        return _field_count_error(cols, n_fields) if n_fields != n_cols else reason
    p1 = bounds[i_pix + 1]
    if p1 > p0 and data[p0] == 34 and data[p1 - 1] == 34:  # a quoted pixel field
        p0, p1 = p0 + 1, p1 - 1
    return lab, ident, use, p0, p1


_USAGE_ENDS = [(b"," + u.encode(), k) for k, u in enumerate(USAGES)]  # ",Training" ...


def _scan_rows(data, pos: int, cols: list[str]) -> _Rows:
    """Find every data row (from ``pos`` on), its small fields and where its pixel text lies.

    The lines are found with ``find``. Rows of the usual form, ``3,<pixels>,Training``
    in fer2013.csv and ``3,<pixels>`` in train.csv (a one-digit label, a Usage as
    written, no quotes), are then read all at once with NumPy from where their lines
    start and end; every other row, and every row of the other layouts, is read by
    ``_read_row``, one by one, which also says what is wrong with a bad one. The pixel
    fields are kept as memoryviews into ``data`` (no copies).
    """
    rows = _Rows([], [], [], [], [], {})
    find, size = data.find, len(data)
    ends, at = [], pos
    while (end := find(b"\n", at)) >= 0:
        ends.append(end)
        at = end + 1
    if at < size:  # the last line has no line end: cut short?
        ends.append(size)
        rows.truncated_line = len(ends) + 1  # (the header is line 1)
    n = len(ends)
    if not n:
        return rows
    b = np.frombuffer(data, np.uint8)
    end = np.array(ends, np.int64)
    start = np.concatenate(([pos], end[:-1] + 1))

    def byte(i: np.ndarray) -> np.ndarray:  # b[i], with an i outside data read at its edge
        return b[np.clip(i, 0, size - 1)]

    stop = end - ((end > start) & (byte(end - 1) == 13))  # CRLF
    lab, ident, use = (np.full(n, -1, np.int64) for _ in range(3))
    p0, p1 = start + 2, stop.copy()
    usual = np.zeros(n, bool)
    if cols[:2] == ["label", "pixels"] and cols[2:] in ([], ["usage"]):
        first = byte(start).astype(np.int64) - 48  # a one-digit label, then a comma
        usual = ((stop - start >= 2) & (first >= 0) & (first < NUM_CLASSES)
                 & (byte(start + 1) == 44))
        lab[usual] = first[usual]
        if cols[2:]:  # the row ends in ",Training", ",PublicTest" or ",PrivateTest"
            for text, k in _USAGE_ENDS:
                tail = byte(stop[:, None] - len(text) + np.arange(len(text)))
                hit = ((stop - start >= len(text) + 2)  # room for "3," before it
                       & (tail == np.frombuffer(text, np.uint8)).all(axis=1))
                use[hit], p1[hit] = k, stop[hit] - len(text)
            usual &= use >= 0
        usual &= byte(p0) != 34  # no quotes
    good = np.ones(n, bool)
    blank = np.zeros(n, bool)
    for i in np.flatnonzero(~usual).tolist():
        s, t = int(start[i]), int(stop[i])
        if t - s < 8 and not data[s:t].strip():
            good[i] = False
            blank[i] = True  # a blank line: not a row
            continue
        row = _read_row(data, s, t, cols)
        if isinstance(row, str):
            good[i] = False
            rows.skipped[i + 2] = row  # (the header is line 1)
        else:
            lab[i], ident[i], use[i], p0[i], p1[i] = row
    rows.labels, rows.usage = lab[good].tolist(), use[good].tolist()
    rows.lines = (np.flatnonzero(good) + 2).tolist()
    # ids: the id column, else the row's index among the data rows (bad ones counted)
    rows.ids = (ident if "id" in cols else np.cumsum(~blank) - 1)[good].tolist()
    view = memoryview(data)
    rows.pixel_fields = [view[i:j] for i, j in zip(p0[good].tolist(), p1[good].tolist())]
    return rows


def _n_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _parse_pixels(fields: list, pixel_sink=None) -> tuple[np.ndarray, dict[int, str]]:
    """Parse every row's pixel text, a block of rows at a time, on one thread per core.

    The calling thread works beside up to three helpers; NumPy releases the GIL, so
    the blocks are parsed in parallel, straight into one array. ``pixel_sink(row0,
    pixels)``, if given, is called on the parsing thread with each block's pixels (bad
    rows zero) and the index of its first row.

    Returns:
        (pixels (n_rows, 2304) in row order, {row index: reason} for the bad rows).
    """
    pixels = np.empty((len(fields), N_PIXELS), np.uint8)
    errors: dict[int, str] = {}
    block_rows = _BLOCK_ROWS
    todo = iter(range(0, len(fields), block_rows))  # shared: each block goes to one thread

    def work() -> None:
        scratch = _Scratch()
        for row0 in todo:
            end = row0 + block_rows
            _, errs = parse_pixel_block(fields[row0:end], pixels[row0:end], scratch)
            if pixel_sink is not None:
                pixel_sink(row0, pixels[row0:end])
            errors.update({row0 + r: reason for r, reason in errs.items()})

    n_helpers = min(_n_cores(), 4) - 1
    with ThreadPoolExecutor(max(n_helpers, 1)) as pool:
        helpers = [pool.submit(work) for _ in range(n_helpers)]
        work()
        for h in helpers:
            h.result()
    return pixels, errors


_NON_SPACE = re.compile(rb"\S")
HEAD_BYTES = 64 * 1024  # a header is one short line; the first row ends within ~9 KiB
_ARCHIVES = ((b"\x1f\x8b", "a gzip-compressed file: decompress it first (gunzip FILE, or "
                            "tar xzf for a .tar.gz) and use the .csv inside"),
             (b"PK\x03\x04", "a zip archive: extract the .csv from it first (unzip FILE)"),
             (b"BZh", "a bzip2-compressed file: decompress it first (bunzip2 FILE)"),
             (b"\xfd7zXZ\x00", "an xz-compressed file: decompress it first (unxz FILE)"))


def check_head(head: bytes, path: str | Path, size: int) -> None:
    """Refuse, from its first bytes alone, a file that is not CSV text.

    Called before the file is read or mapped whole: a compressed archive is named as
    one (its bytes would otherwise read as an unknown header of binary), and a file with
    no line end in its first ``HEAD_BYTES`` is refused before anything reads gigabytes
    of it as its "header".

    Args:
        head: the file's first ``HEAD_BYTES`` bytes (or all of it, if shorter).
        path: the file, for messages.
        size: the file's size in bytes.

    Raises:
        FERDataError: naming the file and what it is instead.
    """
    head = bytes(head)
    for magic, what in _ARCHIVES:
        if head.startswith(magic):
            raise FERDataError(path, what)
    if size > HEAD_BYTES and b"\n" not in head:
        raise FERDataError(path, f"no line end in the first {HEAD_BYTES // 1024} KiB of "
                                 f"{size:,} bytes: not a FER CSV text file (its first line "
                                 "is a short header such as emotion,pixels,Usage)", line=1)


def parse_bytes(data, path: str | Path = "<bytes>", pixel_sink=None) -> ParsedCSV:
    """Parse the bytes of a FER CSV file; never raises for a bad row, only lists it.

    Args:
        data: the file's bytes: ``bytes``, or an ``mmap`` of the file (never copied whole).
        path: the file, for messages.
        pixel_sink: called as ``pixel_sink(row0, pixels)`` with every block of parsed
            rows (uint8, (n, 2304); bad rows zero), on the thread that parsed it, while
            parsing goes on: ``row0`` counts the rows that reached the pixel parser,
            which are all rows of ``x`` when no row was dropped (``io`` writes its cache
            this way).

    Raises:
        FERDataError: for an empty file or a missing/unknown header (nothing to read).
    """
    path = Path(path)
    check_head(data[:HEAD_BYTES], path, len(data))
    start = 3 if data[:3] == b"\xef\xbb\xbf" else 0  # UTF-8 byte-order mark (Excel, Notepad)
    if _NON_SPACE.search(data, start) is None:
        raise FERDataError(path, "empty file (no header, no rows)")
    end = data.find(b"\n", start, HEAD_BYTES)
    header_end = len(data) if end < 0 else end  # (check_head: then the file is that short)
    layout, cols = _read_header(path, data[start:header_end].decode("utf-8", "replace").strip())
    rows = _scan_rows(data, header_end + 1, cols)
    pixels, pixel_errors = _parse_pixels(rows.pixel_fields, pixel_sink)

    skipped = rows.skipped
    keep = np.ones(len(rows.lines), bool)
    for r, reason in pixel_errors.items():
        keep[r] = False
        n_commas = bytes(rows.pixel_fields[r]).count(b",")
        if n_commas:  # the pixel parser tripped on an extra column
            reason = _field_count_error(cols, len(cols) + n_commas)
        skipped[rows.lines[r]] = reason
    rows.pixel_fields.clear()  # release the views into data (an mmap can then be closed)
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
