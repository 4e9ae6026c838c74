"""Read FER2013 files into one ``Dataset``; ``load()`` is the one call the notebooks make.

``load()`` reads ``FER_KIT_DATA`` when it is set, and otherwise generates SynthFER,
writes it as a Kaggle ``fer2013.csv`` and reads that back, so the same loading code
serves both. Three layouts are read (``read``): Kaggle's fer2013.csv, and the course's
train.csv (label,feature) and test.csv (id,feature). The byte-level parser is
``_csvparse``, the parse cache ``_cache`` and the writers ``_csvwrite``; their public
names are importable from here too.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import cache_dir, data_source, get_profile
from . import synth
from ._cache import CacheWarning, file_digest, parse_file
from ._csvparse import HEAD_BYTES, N_PIXELS, USAGES, FERDataError, ParsedCSV, check_head, parse_bytes
from ._csvwrite import format_pixels, write_fer2013, write_test_csv, write_train_csv
from .dataset import Dataset, Split

__all__ = ["CacheWarning", "Dataset", "FERDataError", "N_PIXELS", "ParsedCSV", "Split", "USAGES",
           "file_digest", "format_pixels", "load", "parse_bytes", "read", "read_csv",
           "read_fer2013", "read_train_test", "write_fer2013", "write_test_csv",
           "write_train_csv"]


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
    parsed = parse_file(path, st, cache)
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


def _read_sidecar(path: Path, ids: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
    """SynthFER's sidecar (``<csv>.masks.npz``, indexed by data row), if present: its masks
    and the class each face was drawn from (``y_clean``; None in a sidecar without it).

    Read without pickles; anything but a bool (rows, 48, 48) array ``masks`` covering
    every id, or a ``y_clean`` of other rows or values than classes 0-6, is refused.

    Raises:
        FERDataError: naming the sidecar and what is wrong with it (``load`` then rebuilds
            SynthFER; a sidecar beside a file of your own is yours to delete).
    """
    side = path.with_suffix(".masks.npz")
    if not side.is_file():
        return None, None
    try:
        with np.load(side, allow_pickle=False) as z:
            masks = z["masks"]  # read once: decompressing it takes ~0.2 s at FER2013 size
            drawn = z["y_clean"] if "y_clean" in z.files else None
    except Exception as e:  # a torn zip, a pickle, no "masks" entry, not an .npz at all
        why = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise FERDataError(side, f"masks sidecar cannot be read ({why}); delete it (SynthFER "
                                 "rebuilds it)") from None
    n = int(ids.max()) + 1 if len(ids) else 0
    if masks.dtype != bool or masks.ndim != 3 or masks.shape[1:] != (48, 48) or len(masks) < n:
        raise FERDataError(side, f"masks sidecar holds {masks.dtype} {masks.shape}, expected "
                                 f"bool ({n}, 48, 48); delete it (SynthFER rebuilds it)")
    if drawn is not None and (drawn.shape != (len(masks),) or drawn.dtype.kind not in "iu"
                              or (len(drawn) and not 0 <= drawn.min() <= drawn.max() <= 6)):
        values = f", values {drawn.min()}-{drawn.max()}" if drawn.size else ""
        raise FERDataError(side, f"masks sidecar holds y_clean {drawn.dtype} {drawn.shape}{values}, "
                                 f"expected classes 0-6 for its {len(masks)} rows; delete it "
                                 "(SynthFER rebuilds it)")
    return masks, None if drawn is None else drawn.astype(np.int64)


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
    masks, drawn = _read_sidecar(path, p.ids)
    splits = []
    for k in range(len(USAGES)):
        rows = np.flatnonzero(p.usage == k)
        if not len(rows):
            splits.append(None)
            continue
        if rows[-1] - rows[0] + 1 == len(rows):  # Kaggle's order: one run of rows per Usage,
            rows = slice(rows[0], rows[-1] + 1)  # so the images are a view, not an 83 MB copy
        splits.append(Split(p.x[rows], p.y[rows], p.ids[rows],
                            None if masks is None else masks[p.ids[rows]],
                            None if drawn is None else drawn[p.ids[rows]]))
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


def synth_csv(profile: str | None = None, seed: int = 0) -> Path:
    """Where ``load`` keeps SynthFER at ``profile``'s size in FER_KIT_CACHE: its
    ``fer2013.csv``; the sidecar ``fer2013.masks.npz`` beside it holds the masks and, by
    data row, the class each face was drawn from (``y_clean``, before label noise)."""
    prof = get_profile(profile)
    # the key changes with SynthFER's pixels, so a cached file of an older version is not reused
    return cache_dir() / (f"synthfer{synth.CACHE_KEY}-{prof.synth_train}-{prof.synth_test}"
                          f"-seed{seed}") / "fer2013.csv"


def load(profile: str | None = None, on_error: str = "raise", seed: int = 0) -> Dataset:
    """Load the data the kit runs on: ``FER_KIT_DATA`` if set, else SynthFER.

    SynthFER is generated at the profile's size, written once as a Kaggle
    ``fer2013.csv`` under FER_KIT_CACHE and read back through ``read_fer2013``.
    """
    src = data_source()
    if src is not None:
        return read(src, on_error=on_error)
    prof = get_profile(profile)
    csv = synth_csv(prof.name, seed)
    folder = csv.parent
    if not csv.is_file() or not csv.with_suffix(".masks.npz").is_file():
        synth.write_synthfer(folder, n_train=prof.synth_train, n_test=prof.synth_test, seed=seed)
    try:
        return read_fer2013(csv, on_error=on_error, name="SynthFER")
    except FERDataError as e:  # a torn or foreign file in the cache: generate it again
        warnings.warn(f"{e}; generating SynthFER again", CacheWarning, stacklevel=2)
        synth.write_synthfer(folder, n_train=prof.synth_train, n_test=prof.synth_test, seed=seed)
        return read_fer2013(csv, on_error=on_error, name="SynthFER")
