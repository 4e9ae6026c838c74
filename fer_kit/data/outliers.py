"""Outlier detection for FER images (seed 003 found all-zero images with
inconsistent labels, and images that are not faces, in FER2013).

Three detectors, one table:
  * blank or near-constant images (pixel standard deviation below a threshold);
  * exact duplicates, and among them duplicates whose labels disagree;
  * non-face candidates: reconstruction error in a PCA "face space" fit on the
    training set (each image pooled 2x2 and standardised first, so neither pixel
    noise nor brightness counts),
    flagged by a robust z-score (median and MAD) of the error.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA

COLUMNS = ["index", "reason", "score", "detail"]


def find_blank(x: np.ndarray, max_std: float = 2.0) -> pd.DataFrame:
    """Images whose pixel standard deviation (0-255 scale) is at most ``max_std``."""
    std = x.reshape(len(x), -1).std(axis=1)
    idx = np.flatnonzero(std <= max_std)
    reason = np.where(x.reshape(len(x), -1)[idx].max(axis=1) == 0, "blank", "near-constant")
    return pd.DataFrame({"index": idx, "reason": reason, "score": std[idx],
                         "detail": [f"std {s:.2f}" for s in std[idx]]}, columns=COLUMNS)


def find_duplicates(x: np.ndarray, y: np.ndarray | None = None) -> pd.DataFrame:
    """Exact duplicate images; ``duplicate, labels disagree`` when their labels differ.

    Score is the size of the group; detail lists the other members and the labels.
    """
    flat = np.ascontiguousarray(x.reshape(len(x), -1))
    keys = flat.view(np.dtype((np.void, flat.shape[1]))).ravel()  # one opaque key per image
    _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    rows = []
    for g in np.flatnonzero(counts > 1):
        members = np.flatnonzero(inverse == g)
        labels = None if y is None else y[members]
        conflict = labels is not None and len(np.unique(labels)) > 1
        for i in members:
            others = ", ".join(str(j) for j in members if j != i)
            detail = f"same as {others}" + ("" if labels is None else
                                           f"; labels {', '.join(map(str, labels))}")
            rows.append((int(i), "duplicate, labels disagree" if conflict else "duplicate",
                         float(len(members)), detail))
    return pd.DataFrame(rows, columns=COLUMNS)


def _standardize(x: np.ndarray) -> np.ndarray:
    """2x2 average-pool (pixel noise is not what makes a non-face), then per-image z-score."""
    n, h, w = len(x), x.shape[1] // 2 * 2, x.shape[2] // 2 * 2
    pooled = x[:, :h, :w].astype(np.float32).reshape(n, h // 2, 2, w // 2, 2, -1).mean((2, 4))
    flat = pooled.reshape(n, -1)
    flat -= flat.mean(axis=1, keepdims=True)
    return flat / np.maximum(flat.std(axis=1, keepdims=True), 1e-3)


def nonface_scores(x: np.ndarray, x_fit: np.ndarray | None = None, n_components: int = 40,
                   seed: int = 0) -> np.ndarray:
    """Mean squared PCA reconstruction error of each image (standardised), PCA fit on ``x_fit``."""
    fit = _standardize(x if x_fit is None else x_fit)
    pca = PCA(n_components=min(n_components, *fit.shape), random_state=seed).fit(fit)
    z = _standardize(x)
    recon = pca.inverse_transform(pca.transform(z))
    return ((z - recon) ** 2).mean(axis=1)


def find_nonfaces(x: np.ndarray, x_fit: np.ndarray | None = None, z_threshold: float = 12.0,
                  n_components: int = 40, seed: int = 0) -> pd.DataFrame:
    """Non-face candidates: images whose PCA reconstruction error has a robust z-score above
    ``z_threshold``. Score is that z-score."""
    err = nonface_scores(x, x_fit, n_components, seed)
    med = np.median(err)
    mad = np.median(np.abs(err - med)) * 1.4826 + 1e-12  # ~ standard deviation for normal data
    z = (err - med) / mad
    idx = np.flatnonzero(z > z_threshold)
    return pd.DataFrame({"index": idx, "reason": "non-face candidate", "score": z[idx],
                         "detail": [f"reconstruction error {e:.3f} (median {med:.3f})"
                                    for e in err[idx]]}, columns=COLUMNS)


def find_outliers(x: np.ndarray, y: np.ndarray | None = None, x_fit: np.ndarray | None = None,
                  blank_std: float = 2.0, z_threshold: float = 12.0, seed: int = 0) -> pd.DataFrame:
    """Run all three detectors and return one table sorted by index.

    Args:
        x: uint8 images (N, 48, 48, 1).
        y: labels, used to spot duplicates whose labels disagree.
        x_fit: images to fit the PCA face space on (the training set); default ``x``.
        blank_std: threshold of ``find_blank``.
        z_threshold: threshold of ``find_nonfaces``.

    Returns:
        DataFrame with columns index, reason, score, detail. Blank images are not
        listed again as non-face candidates.
    """
    blank = find_blank(x, blank_std)
    dup = find_duplicates(x, y)
    keep = np.setdiff1d(np.arange(len(x)), blank["index"].to_numpy())
    fit = x_fit if x_fit is not None else x[keep]
    nonface = find_nonfaces(x[keep], fit, z_threshold, seed=seed)
    nonface["index"] = keep[nonface["index"].to_numpy(int)]
    parts = [df for df in (blank, dup, nonface) if len(df)]
    if not parts:
        return pd.DataFrame(columns=COLUMNS)
    return pd.concat(parts, ignore_index=True).sort_values(["index", "reason"], ignore_index=True)
