"""Read and write FER2013 files, with a parse cache, into one ``Dataset``.

``load()`` is the one call the notebooks make: it reads ``FER_KIT_DATA`` when it
is set, and otherwise generates SynthFER, writes it as a Kaggle ``fer2013.csv``
and reads that back, so the same loading code serves both.
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
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

import numpy as np
import pandas as pd

from .. import atomic
from ..config import cache_dir, data_source, get_profile
from .csvparse import (HEAD_BYTES, N_PIXELS, USAGES, FERDataError, ParsedCSV, check_head,
                       format_pixels, parse_bytes)


class CacheWarning(UserWarning):
    """An optional file (the parse cache) could not be written; the data loaded all the same."""


@dataclass
class Split:
    """Images with their labels and ids.

    Attributes:
        x: uint8 images, shape (N, 48, 48, 1).
        y: int64 labels 0-6, shape (N,), or None for an unlabeled test set.
        ids: int64 ids, shape (N,) (test.csv's id column, else the data-row index).
        masks: SynthFER only: bool (N, 48, 48) ground-truth expression masks.
    """

    x: np.ndarray
    y: np.ndarray | None
    ids: np.ndarray
    masks: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.x)

    def take(self, index) -> "Split":
        """Return the rows ``index`` (an index array or boolean mask) as a new Split."""
        return Split(self.x[index], None if self.y is None else self.y[index], self.ids[index],
                     None if self.masks is None else self.masks[index])


@dataclass
class Dataset:
    """A whole FER data source: the training pool and the test sets it has.

    Attributes:
        name: ``SynthFER`` or the file it came from.
        train: labeled training pool (split it with ``fk.data.train_val_split``).
        public: Kaggle PublicTest rows (labeled), if present.
        private: Kaggle PrivateTest rows (labeled), if present.
        test: unlabeled test rows (course test.csv), if present.
        skipped: DataFrame(file, line, reason) of rows left out with ``on_error="skip"``.
    """

    name: str
    train: Split
    public: Split | None = None
    private: Split | None = None
    test: Split | None = None
    skipped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["file", "line", "reason"]))

    @property
    def is_synthetic(self) -> bool:
        return self.name == "SynthFER"

    def summary(self) -> pd.DataFrame:
        """Class counts of every split, one row per split."""
        from ..config import EMOTIONS
        rows = {}
        for name in ("train", "public", "private", "test"):
            s = getattr(self, name)
            if s is None:
                continue
            counts = (np.bincount(s.y, minlength=len(EMOTIONS)) if s.y is not None
                      else [np.nan] * len(EMOTIONS))
            rows[name] = dict(zip(EMOTIONS, counts), total=len(s))
        return pd.DataFrame(rows).T


# ---- parse cache ---------------------------------------------------------------------
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
                  "all the same and will be parsed again next time", CacheWarning, stacklevel=4)


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


def read_csv(path: str | Path, on_error: str = "raise", cache: bool = True) -> ParsedCSV:
    """Read a fer2013.csv, train.csv or test.csv file (layout found from its header).

    Args:
        path: the CSV file.
        on_error: ``"raise"`` stops at the first bad row with a FERDataError naming
            the file, line and problem; ``"skip"`` keeps the good rows and lists the
            others in ``.skipped``.
        cache: keep the parsed arrays under FER_KIT_CACHE, keyed by the file's stat
            (and its content hash if it had just changed), so the second read takes a
            fraction of a second.

    Returns:
        ParsedCSV.

    Raises:
        FERDataError: for a missing, empty or malformed file (with ``on_error="raise"``).
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    path = Path(path)
    if not path.is_file():
        raise FERDataError(path, "no such file" if not path.exists() else "not a file")
    st = path.stat()
    with open(path, "rb") as f:  # before mapping or reading the file whole
        check_head(f.read(HEAD_BYTES), path, st.st_size)
    try:
        cache_path = _cache_file(path) if cache else None
    except OSError as e:  # FER_KIT_CACHE cannot be created: read without a cache
        warnings.warn(f"parse cache unavailable ({e}); {path.name} is read without it",
                      CacheWarning, stacklevel=2)
        cache_path = None
    parsed = _load_cache(cache_path, st, path) if cache_path is not None else None
    if parsed is None:
        racy = _is_racy(st, time.time_ns())
        with _file_bytes(path, snapshot=racy) as data:
            hasher = ThreadPoolExecutor(1) if cache and racy else None
            sha1 = hasher.submit(_digest, data) if hasher else None  # overlaps the parse
            try:
                parsed = (parse_bytes(data, path) if cache_path is None
                          else _parse_and_cache(data, path, cache_path, st, sha1))
            finally:
                if hasher:
                    hasher.shutdown()
    if on_error == "raise" and len(parsed.skipped):
        first = parsed.skipped.iloc[0]
        more = len(parsed.skipped) - 1
        tail = (f" (and {more} more bad row{'s' * (more > 1)}; on_error='skip' loads the "
                "good rows and lists the bad ones)") if more else ""
        raise FERDataError(path, f"{first['reason']}{tail}", line=int(first["line"]))
    return parsed


# ---- datasets --------------------------------------------------------------------------
def _skipped_with_file(parsed: ParsedCSV, path: Path) -> pd.DataFrame:
    df = parsed.skipped.copy()
    df.insert(0, "file", str(path))
    return df


def _read_masks(path: Path, ids: np.ndarray) -> np.ndarray | None:
    """SynthFER's sidecar masks (``<csv>.masks.npz``, indexed by data row), if present.

    Read without pickles; anything but a bool (rows, 48, 48) array ``masks`` covering
    every id is refused.

    Raises:
        FERDataError: naming the sidecar and what is wrong with it (``load`` then rebuilds
            SynthFER; a sidecar beside a file of your own is yours to delete).
    """
    side = path.with_suffix(".masks.npz")
    if not side.is_file():
        return None
    try:
        with np.load(side, allow_pickle=False) as z:
            masks = z["masks"]  # read once: decompressing it takes ~0.2 s at FER2013 size
    except Exception as e:  # a torn zip, a pickle, no "masks" entry, not an .npz at all
        why = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise FERDataError(side, f"masks sidecar cannot be read ({why}); delete it (SynthFER "
                                 "rebuilds it)") from None
    n = int(ids.max()) + 1 if len(ids) else 0
    if masks.dtype != bool or masks.ndim != 3 or masks.shape[1:] != (48, 48) or len(masks) < n:
        raise FERDataError(side, f"masks sidecar holds {masks.dtype} {masks.shape}, expected "
                                 f"bool ({n}, 48, 48); delete it (SynthFER rebuilds it)")
    return masks


def read_fer2013(path: str | Path, on_error: str = "raise", cache: bool = True,
                 name: str | None = None) -> Dataset:
    """Read the Kaggle ``fer2013.csv`` into a Dataset (Training, PublicTest, PrivateTest apart).

    Args and Raises: as for ``read_csv``.
    """
    path = Path(path)
    p = read_csv(path, on_error=on_error, cache=cache)
    if p.layout != "fer2013":
        raise FERDataError(path, f"this is a {p.layout}.csv-style file, not fer2013.csv "
                                 "(emotion,pixels,Usage)", line=1)
    masks = _read_masks(path, p.ids)
    splits = []
    for k in range(len(USAGES)):
        rows = np.flatnonzero(p.usage == k)
        if not len(rows):
            splits.append(None)
            continue
        if rows[-1] - rows[0] + 1 == len(rows):  # Kaggle's order: one run of rows per Usage,
            rows = slice(rows[0], rows[-1] + 1)  # so the images are a view, not an 83 MB copy
        splits.append(Split(p.x[rows], p.y[rows], p.ids[rows],
                            None if masks is None else masks[p.ids[rows]]))
    if splits[0] is None:
        raise FERDataError(path, "no Training rows (Usage column)")
    return Dataset(name or str(path), splits[0], splits[1], splits[2],
                   skipped=_skipped_with_file(p, path))


def read_train_test(folder: str | Path, on_error: str = "raise", cache: bool = True) -> Dataset:
    """Read a course folder with ``train.csv`` (label,feature) and optional ``test.csv`` (id,feature)."""
    folder = Path(folder)
    tr = read_csv(folder / "train.csv", on_error=on_error, cache=cache)
    if tr.layout != "train":
        raise FERDataError(folder / "train.csv", f"expected label,feature, found a {tr.layout} "
                                                 "layout", line=1)
    skipped = [_skipped_with_file(tr, folder / "train.csv")]
    test = None
    if (folder / "test.csv").is_file():
        te = read_csv(folder / "test.csv", on_error=on_error, cache=cache)
        if te.layout != "test":
            raise FERDataError(folder / "test.csv", f"expected id,feature, found a {te.layout} "
                                                    "layout", line=1)
        test = Split(te.x, None, te.ids)
        skipped.append(_skipped_with_file(te, folder / "test.csv"))
    return Dataset(str(folder), Split(tr.x, tr.y, tr.ids), test=test,
                   skipped=pd.concat(skipped, ignore_index=True))


def read(path: str | Path, on_error: str = "raise", cache: bool = True) -> Dataset:
    """Read a fer2013.csv file, or a folder with fer2013.csv or train.csv/test.csv."""
    path = Path(path)
    if path.is_dir():
        if (path / "fer2013.csv").is_file():
            return read_fer2013(path / "fer2013.csv", on_error, cache)
        return read_train_test(path, on_error, cache)
    if not path.exists():
        raise FERDataError(path, "no such file or folder")
    return read_fer2013(path, on_error, cache)


def load(profile: str | None = None, on_error: str = "raise", seed: int = 0) -> Dataset:
    """Load the data the kit runs on: ``FER_KIT_DATA`` if set, else SynthFER.

    SynthFER is generated at the profile's size, written once as a Kaggle
    ``fer2013.csv`` under FER_KIT_CACHE and read back through ``read_fer2013``.
    """
    src = data_source()
    if src is not None:
        return read(src, on_error=on_error)
    from .synth import CACHE_KEY, write_synthfer
    prof = get_profile(profile)
    folder = cache_dir() / f"synthfer{CACHE_KEY}-{prof.synth_train}-{prof.synth_test}-seed{seed}"
    csv = folder / "fer2013.csv"
    if not csv.is_file() or not csv.with_suffix(".masks.npz").is_file():
        write_synthfer(folder, n_train=prof.synth_train, n_test=prof.synth_test, seed=seed)
    try:
        return read_fer2013(csv, on_error=on_error, name="SynthFER")
    except FERDataError as e:  # a torn or foreign file in the cache: generate it again
        warnings.warn(f"{e}; generating SynthFER again", CacheWarning, stacklevel=2)
        write_synthfer(folder, n_train=prof.synth_train, n_test=prof.synth_test, seed=seed)
        return read_fer2013(csv, on_error=on_error, name="SynthFER")


# ---- writing ---------------------------------------------------------------------------
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
