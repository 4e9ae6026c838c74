"""Train/validation split and horizontal-flip doubling, in the right order.

Both reports hold out 10% for validation. Report 000 doubles its data by mirroring
every image, then splits; that leaks the mirror twin of most validation images
into training, so validation accuracy overstates test accuracy. fer_kit splits
first and doubles only the training part; ``mirror_leak`` shows the difference
in numbers.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from .dataset import Split


def split_indices(y: np.ndarray, val_fraction: float = 0.1, seed: int = 0
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Stratified (train_idx, val_idx) for labels ``y`` (scikit-learn's train_test_split).

    Falls back to an unstratified split, with a warning, when a class has fewer than 2 images.
    """
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    idx = np.arange(len(y))
    counts = np.bincount(y) if len(y) else np.zeros(0, int)
    stratify = y if (counts[counts > 0] >= 2).all() else None
    if stratify is None:
        warnings.warn("a class has fewer than 2 images: the validation split is not stratified")
    tr, va = train_test_split(idx, test_size=val_fraction, random_state=seed, stratify=stratify)
    return np.sort(tr), np.sort(va)


def train_val_split(split: Split, val_fraction: float = 0.1, seed: int = 0) -> tuple[Split, Split]:
    """Split a labeled Split into stratified (train, val) Splits, 90/10 by default."""
    if split.y is None:
        raise ValueError("cannot make a stratified split of unlabeled data (y is None)")
    tr, va = split_indices(split.y, val_fraction, seed)
    return split.take(tr), split.take(va)


def flip_double(split: Split) -> Split:
    """Append the horizontal mirror of every image (report 000: 28,709 -> 57,418 images).

    Apply it to the training part only, after ``train_val_split``.
    """
    x = np.concatenate([split.x, split.x[:, :, ::-1]])  # (2N, 48, 48, 1): width axis flipped
    masks = None if split.masks is None else np.concatenate([split.masks, split.masks[:, :, ::-1]])
    y = None if split.y is None else np.concatenate([split.y, split.y])
    drawn = None if split.drawn is None else np.concatenate([split.drawn, split.drawn])
    return Split(x, y, np.concatenate([split.ids, split.ids]), masks, drawn)


def mirror_leak(y: np.ndarray, val_fraction: float = 0.1, seed: int = 0) -> pd.DataFrame:
    """How many validation images have their mirror twin (or original) in training.

    Compares flipping before splitting (report 000's order) with splitting first.

    Returns:
        DataFrame indexed by order with columns val_images, twin_in_train, share.
    """
    n = len(y)
    source = np.concatenate([np.arange(n), np.arange(n)])  # doubled row -> original image
    tr, va = split_indices(np.concatenate([y, y]), val_fraction, seed)
    leaked_before = np.isin(source[va], source[tr])
    tr1, va1 = split_indices(y, val_fraction, seed)
    # After the split only training rows are doubled, so a val source is never in training.
    leaked_after = np.isin(va1, np.concatenate([tr1, tr1]))
    rows = {"flip, then split (seed 000)": leaked_before, "split, then flip (fer_kit)": leaked_after}
    return pd.DataFrame({k: {"val_images": len(v), "twin_in_train": int(v.sum()),
                             "share": float(v.mean()) if len(v) else 0.0}
                         for k, v in rows.items()}).T.astype({"val_images": int,
                                                              "twin_in_train": int})
