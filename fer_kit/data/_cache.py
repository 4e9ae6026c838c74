"""The parse cache: a FER CSV file's parsed arrays kept under FER_KIT_CACHE, reused while
the file is unchanged.

``parse_file`` is the one entry: it returns the cached parse when it was made from the
file as it is now, and otherwise parses the file's bytes (``_csvparse.parse_bytes``),
writing the cache while the parse runs. The cache is optional: when it cannot be written
the file is parsed all the same and a ``CacheWarning`` says so.
"""
from __future__ import annotations

import contextlib
import glob
import hashlib
import mmap
import os
import time
import uuid
import warnings
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO
from pathlib import Path

import numpy as np
import pandas as pd

from .. import atomic
from ..config import cache_dir
from ._csvparse import N_PIXELS, ParsedCSV, parse_bytes


class CacheWarning(UserWarning):
    """An optional file (the parse cache) could not be written; the data loaded all the same."""


# The cache is keyed on the file's stat, not on a hash of its 300 MB: size, mtime,
# ctime, inode and device change whenever the file is written, replaced or touched, and
# ctime cannot be set back by any tool (cp -p, tar, unzip and os.utime all set it to
# "now"). The one gap is git's "racy clean" case: a same-size rewrite inside the same
# timestamp tick as the read leaves every stat field equal. So when the file changed
# within _RACY_NS of the read, its content hash is stored too (computed on a thread
# while the parse runs) and checked on every later load, as git does.
_CACHE_VERSION = "2"
_RACY_NS = 3_000_000_000  # > the coarsest common timestamp tick (FAT: 2 s)


def _digest(buf) -> str:
    """SHA-1 over two halves hashed on two threads (hashlib releases the GIL).

    0.25-0.52 s for 293 MiB on the shared 2-core machine; only a file read just after it
    changed (a racy one, below) pays it, on its first load and its reloads.
    """
    view = memoryview(buf)
    half = len(view) // 2
    with ThreadPoolExecutor(2) as ex:
        parts = list(ex.map(lambda b: hashlib.sha1(b, usedforsecurity=False).digest(),
                            [view[:half], view[half:]]))
    view.release()
    return hashlib.sha1(b"".join(parts)).hexdigest()


def file_digest(path: str | Path) -> str:
    """Content hash of a file, read through mmap (no copy)."""
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            return _digest(b"")
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            return _digest(m)


def _stat_key(st: os.stat_result) -> str:
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}:{st.st_dev}"


def _is_racy(st: os.stat_result, read_ns: int) -> bool:
    """True if the file changed so shortly before ``read_ns`` that a rewrite could keep its stat."""
    return max(st.st_mtime_ns, st.st_ctime_ns) >= read_ns - _RACY_NS


def _cache_file(path: Path) -> Path:
    """The cache's small .npz (key, labels, ids, ...); it names the .npy that holds the pixels."""
    key = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
    return cache_dir() / "parsed" / f"{path.stem}-{key}.npz"


def _load_cache(cache: Path, st: os.stat_result, path: Path) -> ParsedCSV | None:
    """Return the cached parse if it was made from the file as it is now, else None."""
    try:
        with np.load(cache, allow_pickle=False) as z:
            if str(z["version"]) != _CACHE_VERSION or str(z["stat"]) != _stat_key(st):
                return None
            if str(z["sha1"]) and str(z["sha1"]) != file_digest(path):
                return None  # a racy entry, and the content did change
            x = np.load(cache.with_name(str(z["x_file"])), allow_pickle=False)
            if x.dtype != np.uint8 or x.shape != (len(z["y"]), 48, 48, 1):
                return None
            skipped = pd.DataFrame({"line": z["skipped_line"], "reason": z["skipped_reason"]})
            return ParsedCSV(str(z["layout"]), x, z["y"], z["ids"], z["usage"], z["lines"],
                             skipped.astype({"reason": object}))
    except Exception:  # missing, half-written or foreign cache: ignore it and parse again
        return None


def _npy_header(n_rows: int) -> bytes:
    """The .npy header of a uint8 (n_rows, 48, 48, 1) array, as ``np.save`` writes it."""
    buf = BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "|u1", "fortran_order": False,
                                               "shape": (n_rows, 48, 48, 1)})
    return buf.getvalue()


# np.save leaves room for 21 digits in the first dimension, so the header's length is the
# same for every row count: the rows can be written before the count is known.
_NPY_HEADER_LEN = len(_npy_header(0))


def _parse_and_cache(data, path: Path, cache: Path, st: os.stat_result, sha1) -> ParsedCSV:
    """Parse ``data`` and write its cache: the pixels as a plain .npy, then the small .npz.

    The parsing threads write each block of pixels into the new .npy at its rows' offset
    as soon as it is parsed, so the write (83 MB for FER2013) overlaps the parse instead
    of following it; the header goes in last, once the row count is known. If rows were
    dropped after parsing (bad rows, duplicate ids), the .npy is written again from the
    final array. Each file is written atomically; the .npy gets a new name each time, so
    the .npz on disk always names a complete pixel file that belongs to it; older pixel
    files are removed afterwards.

    The cache is optional: if it cannot be written (a full disk, a read-only folder), the
    parse goes on, its temporary files are removed and a ``CacheWarning`` says so; the
    file is parsed again next time.

    Args:
        sha1: a Future of the content hash for a racy file, else None.
    """
    x_file = cache.with_name(f"{cache.stem}-{uuid.uuid4().hex[:8]}.x.npy")
    parsed = None
    try:
        with atomic.atomic_path(x_file) as tmp, open(tmp, "r+b") as f:
            written, failed = [], []  # rows per block; a write error (list.append: thread-safe)

            def write_rows(row0: int, pixels: np.ndarray) -> None:
                if failed:
                    return
                view, at = memoryview(pixels).cast("B"), _NPY_HEADER_LEN + row0 * N_PIXELS
                try:
                    while view:
                        n = os.pwrite(f.fileno(), view, at)
                        view, at = view[n:], at + n
                except OSError as e:  # the parse goes on; the cache is given up below
                    failed.append(e)
                    return
                written.append(len(pixels))

            parsed = parse_bytes(data, path, write_rows if hasattr(os, "pwrite") else None)
            if failed:
                full = atomic.is_disk_full(failed[0])
                raise (atomic.DiskFullError(x_file, _NPY_HEADER_LEN + parsed.x.nbytes, None)
                       if full else failed[0])
            if written and sum(written) == len(parsed.x):  # every row written is a row of x
                os.pwrite(f.fileno(), _npy_header(len(parsed.x)), 0)
            else:  # no os.pwrite (Windows), no rows, or rows dropped: write x as it is
                f.truncate(0)
                np.save(f, parsed.x)  # uncompressed: a write at disk speed, a read without zlib
        with atomic.atomic_path(cache) as tmp:
            np.savez(tmp, version=_CACHE_VERSION, stat=_stat_key(st),
                     sha1="" if sha1 is None else sha1.result(), x_file=x_file.name,
                     layout=parsed.layout, y=parsed.y, ids=parsed.ids, usage=parsed.usage,
                     lines=parsed.lines,
                     skipped_line=parsed.skipped["line"].to_numpy(np.int64),
                     skipped_reason=parsed.skipped["reason"].to_numpy(str))
    except OSError as e:
        _warn_no_cache(cache, path, e)
        x_file.unlink(missing_ok=True)  # (renamed already if only the .npz failed)
        return parsed if parsed is not None else parse_bytes(data, path)
    for old in cache.parent.glob(f"{glob.escape(cache.stem)}-{'[0-9a-f]' * 8}.x.npy"):
        if old != x_file:
            old.unlink(missing_ok=True)
    return parsed


def _warn_no_cache(cache: Path, path: Path, e: OSError) -> None:
    reason = str(e) if isinstance(e, atomic.DiskFullError) else f"{e.strerror or e}"
    warnings.warn(f"{cache.parent}: parse cache not written ({reason}); {path.name} was read "
                  "all the same and will be parsed again next time", CacheWarning, stacklevel=5)


@contextlib.contextmanager
def _file_bytes(path: Path, snapshot: bool):
    """Yield the file's bytes: mapped into memory (no copy of its 300 MB), or read.

    A file that changed just now (``snapshot``) is read instead: it may still be
    changing, and its bytes must be hashed and parsed as one snapshot; a mapped file cut
    short under the parse would also end the process (SIGBUS). An empty file cannot be
    mapped.
    """
    with open(path, "rb") as f:
        if snapshot or os.fstat(f.fileno()).st_size == 0:
            yield f.read()
            return
        data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    try:
        yield data
    finally:
        try:
            data.close()
        except BufferError:  # a view of it is still alive (in a traceback): unmapped when freed
            pass



def parse_file(path: Path, st: os.stat_result, cache: bool = True) -> ParsedCSV:
    """Parse the FER CSV file ``path`` (stat ``st``), through the cache when ``cache``.

    Returns the cached parse if it was made from the file as it is now; otherwise the
    file's bytes are parsed (mapped, or read whole if it changed just now) and, with
    ``cache``, written to the cache as they are parsed. Bad rows are listed in
    ``.skipped``, never raised: ``io.read_csv`` decides what to do with them.

    Raises:
        FERDataError: for an empty file or a missing/unknown header.
    """
    try:
        cache_path = _cache_file(path) if cache else None
    except OSError as e:  # FER_KIT_CACHE cannot be created: read without a cache
        warnings.warn(f"parse cache unavailable ({e}); {path.name} is read without it",
                      CacheWarning, stacklevel=3)
        cache_path = None
    parsed = _load_cache(cache_path, st, path) if cache_path is not None else None
    if parsed is not None:
        return parsed
    racy = _is_racy(st, time.time_ns())
    with _file_bytes(path, snapshot=racy) as data:
        hasher = ThreadPoolExecutor(1) if cache and racy else None
        sha1 = hasher.submit(_digest, data) if hasher else None  # overlaps the parse
        try:
            return (parse_bytes(data, path) if cache_path is None
                    else _parse_and_cache(data, path, cache_path, st, sha1))
        finally:
            if hasher:
                hasher.shutdown()
