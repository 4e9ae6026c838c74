"""Outlier detection for FER images: report 003 found all-zero images with inconsistent
labels, and images that are not faces, in FER2013.

Three detectors, one table with one row per image:
  * blank or near-constant images (pixel standard deviation below a threshold);
  * exact duplicates, and among them duplicates whose labels disagree;
  * non-face candidates: images whose edge layout correlates poorly with the pool's own
    mean face.

The non-face test. Each image is described by its histograms of oriented gradients
(HOG, Dalal & Triggs 2005: 9 unsigned orientation bins, 2x2-cell blocks, L2-Hys
normalisation) at two cell sizes, 6 px (brows, eyes, nose, mouth) and 12 px (the outline
of the face), so lighting and contrast hardly matter. The score is one minus the
correlation with the pool's mean HOG, the mean refit twice without the least face-like
fifth (the pool is mostly, not only, faces): a distance from a face space of one
direction, the mean face (Moghaddam & Pentland 1997, with no principal directions: with
100 real faces, more directions fitted smooth non-faces too). An image is a candidate
when its robust z-score (median and MAD of the scores of the pool the mean was fit on)
passes Chauvenet's criterion, one-sided: fewer than ``alpha`` = 0.5 images of a pool of
that size would score that high if the scores of faces were normal. The threshold is
the pool's own; no labels are used.

What it scores on real faces and on SynthFER, and the detectors it replaced:
benchmarks/results/decisions_data.md.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

COLUMNS = ["index", "reason", "score", "detail"]


def find_blank(x: np.ndarray, max_std: float = 2.0) -> pd.DataFrame:
    """Images whose pixel standard deviation (0-255 scale) is at most ``max_std``."""
    flat = x.reshape(len(x), int(np.prod(x.shape[1:])))
    std = np.concatenate([flat[i:i + 4096].astype(np.float32).std(axis=1)  # 4,096 at a time:
                          for i in range(0, len(x), 4096)] or [np.zeros(0, np.float32)])  # memory
    idx = np.flatnonzero(std <= max_std)
    reason = np.where(flat[idx].max(axis=1, initial=0) == 0, "blank", "near-constant")
    return pd.DataFrame({"index": idx, "reason": reason, "score": std[idx],
                         "detail": [f"std {s:.2f}" for s in std[idx]]}, columns=COLUMNS)


def find_duplicates(x: np.ndarray, y: np.ndarray | None = None) -> pd.DataFrame:
    """Exact duplicate images; ``duplicate, labels disagree`` when their labels differ.

    Score is the size of the group; detail lists the other members and the labels.
    """
    flat = np.ascontiguousarray(x.reshape(len(x), int(np.prod(x.shape[1:]))))
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


CELLS = (6, 12)  # HOG cell sizes in pixels: the parts of a 48x48 face, and its outline
BINS = 9  # unsigned orientation bins over 0-180 degrees (Dalal & Triggs 2005)


def _cell_histograms(x: np.ndarray, cell: int, bins: int) -> np.ndarray:
    """(N, g, g, bins) gradient-magnitude histograms over ``cell`` x ``cell`` pixel cells,
    each gradient split between its two nearest orientation bins."""
    a = x.astype(np.float32).mean(-1) if x.ndim == 4 else x.astype(np.float32)  # (N, H, W)
    g = min(a.shape[1], a.shape[2]) // cell
    a = a[:, :g * cell, :g * cell]
    n, h = len(a), g * cell
    gy, gx = np.zeros_like(a), np.zeros_like(a)  # [-1, 0, 1] derivatives, 0 at the border
    gy[:, 1:-1] = a[:, 2:] - a[:, :-2]
    gx[:, :, 1:-1] = a[:, :, 2:] - a[:, :, :-2]
    mag = np.hypot(gx, gy)
    ang = np.arctan2(gy, gx)
    ang[ang < 0] += np.float32(np.pi)  # unsigned: an edge and its reverse are one orientation
    pos = ang * np.float32(bins / np.pi)
    b0 = pos.astype(np.int32)
    w1 = pos - b0
    b0[b0 >= bins] = 0
    b1 = b0 + 1
    b1[b1 == bins] = 0
    row = np.arange(h) // cell
    cells = (row[:, None] * g + row[None, :]).astype(np.int64) * bins  # (h, h)
    base = np.arange(n, dtype=np.int64)[:, None, None] * (g * g * bins) + cells
    m1 = mag * w1
    size = n * g * g * bins
    hist = np.bincount((base + b0).ravel(), (mag - m1).ravel(), size)
    hist += np.bincount((base + b1).ravel(), m1.ravel(), size)
    return hist.reshape(n, g, g, bins).astype(np.float32)


def _blocks(hist: np.ndarray, block: int = 2, clip: float = 0.2) -> np.ndarray:
    """Overlapping ``block`` x ``block``-cell blocks, each L2-Hys normalised (L2, clip at
    ``clip``, L2 again), concatenated: (N, D)."""
    n, g = len(hist), hist.shape[1]
    k = g - block + 1
    v = np.stack([hist[:, i:i + block, j:j + block].reshape(n, -1)
                  for i in range(k) for j in range(k)], 1)
    v = v / np.sqrt((v ** 2).sum(-1, keepdims=True) + 1.0)  # +1: flat blocks stay near 0
    v = np.minimum(v, clip)
    v = v / np.sqrt((v ** 2).sum(-1, keepdims=True) + 1e-6)
    return v.reshape(n, -1)


def hog_features(x: np.ndarray, cells: tuple[int, ...] = CELLS, bins: int = BINS,
                 chunk: int = 512) -> np.ndarray:
    """Histograms of oriented gradients of each image at each cell size, (N, D) float32.

    Dalal & Triggs 2005: gradient orientations, unsigned, in ``bins`` bins weighted by
    gradient magnitude, per cell; overlapping 2x2-cell blocks, L2-Hys normalised, which
    removes lighting and contrast. Cell sizes must be multiples of the first (the larger
    cells' histograms are sums of the smaller ones). ``chunk`` images at a time bound
    the memory.
    """
    out = None
    for i in range(0, len(x), chunk):
        h = _cell_histograms(x[i:i + chunk], cells[0], bins)
        parts = []
        for c in cells:
            r = c // cells[0]
            g = h.shape[1] // r
            hc = h[:, :g * r, :g * r].reshape(len(h), g, r, g, r, bins).sum((2, 4))
            parts.append(_blocks(hc))
        part = np.concatenate(parts, 1)
        if out is None:
            out = np.empty((len(x), part.shape[1]), np.float32)
        out[i:i + len(part)] = part
    return np.zeros((0, 0), np.float32) if out is None else out


def face_features(x: np.ndarray) -> np.ndarray:
    """``hog_features(x)``, each row minus its mean and divided by its norm (in place), so
    that the dot product of two rows is their correlation: (N, D) float32."""
    f = hog_features(x)
    f -= f.mean(axis=1, keepdims=True)
    f /= np.maximum(np.sqrt(np.einsum("ij,ij->i", f, f)), 1e-6)[:, None]
    return f


def _fit_mean(g: np.ndarray, trim: float = 0.2, rounds: int = 2) -> np.ndarray:
    if len(g) == 0:
        raise ValueError("no images to fit the mean face on")
    keep = np.ones(len(g), bool)
    for _ in range(rounds + 1):
        m = keep.astype(np.float32) @ g  # the mean of the kept rows, without copying them
        m /= max(float(np.linalg.norm(m)), 1e-12)
        corr = g @ m
        keep = corr >= np.quantile(corr, trim)
    return m


def fit_mean_face(x: np.ndarray, trim: float = 0.2, rounds: int = 2) -> np.ndarray:
    """The robust mean face of images ``x``, a unit vector of ``face_features``: the mean,
    refit ``rounds`` times without the ``trim`` share least correlated with it (the pool
    is mostly, not only, faces)."""
    return _fit_mean(face_features(x), trim, rounds)


def nonface_scores(x: np.ndarray, x_fit: np.ndarray | None = None) -> np.ndarray:
    """Non-faceness of each image, (N,): one minus the correlation of its HOG features
    with the robust mean face of ``x_fit`` (default ``x``): 0.4-0.5 for a typical face,
    about 1 for an unrelated picture, 1 for a blank one."""
    if len(x) == 0:
        return np.zeros(0)
    g = face_features(x)
    return 1 - g @ _fit_mean(g if x_fit is None else face_features(x_fit))


def chauvenet_z(n: int, alpha: float = 0.5) -> float:
    """Chauvenet's criterion, one-sided: the z above which fewer than ``alpha`` of ``n``
    normal values would fall (2.6 for 110 images, 3.7 for 4,000, 4.1 for 28,709)."""
    return float(norm.isf(alpha / max(n, 1)))


def _robust_z(v: np.ndarray, ref: np.ndarray) -> np.ndarray:
    med = np.median(ref)
    return (v - med) / (np.median(np.abs(ref - med)) * 1.4826 + 1e-12)  # MAD ~ std if normal


def find_nonfaces(x: np.ndarray, x_fit: np.ndarray | None = None,
                  alpha: float = 0.5) -> pd.DataFrame:
    """Non-face candidates: images whose ``nonface_scores`` have a robust z-score (median
    and MAD of the scores of ``x_fit``, default ``x``) above ``chauvenet_z(len(x), alpha)``.

    Score is ``nonface_scores``; detail gives the correlation and its z-score.
    """
    if len(x) == 0:
        return pd.DataFrame(columns=COLUMNS)
    g = face_features(x)
    g_fit = g if x_fit is None else face_features(x_fit)
    m = _fit_mean(g_fit)
    s = 1 - g @ m
    s_fit = s if x_fit is None else 1 - g_fit @ m
    z = _robust_z(s, s_fit)
    idx = np.flatnonzero(z > chauvenet_z(len(x), alpha))
    return pd.DataFrame({"index": idx, "reason": "non-face candidate", "score": s[idx],
                         "detail": [f"HOG correlation with the mean face {1 - s[i]:.2f} "
                                    f"(z {z[i]:.1f})" for i in idx]}, columns=COLUMNS)


def find_outliers(x: np.ndarray, y: np.ndarray | None = None, x_fit: np.ndarray | None = None,
                  blank_std: float = 2.0, alpha: float = 0.5) -> pd.DataFrame:
    """Run all three detectors and return one row per image, sorted by index.

    Args:
        x: uint8 images (N, 48, 48, 1).
        y: labels, used to spot duplicates whose labels disagree.
        x_fit: images to fit the mean face and the score's median and MAD on (the
            training set); default ``x``. Blank and near-constant images are left out.
        blank_std: threshold of ``find_blank``.
        alpha: of ``find_nonfaces`` (Chauvenet's criterion).

    Returns:
        DataFrame with columns index, reason, score, detail; an image with several
        reasons has them joined ("blank; duplicate, labels disagree"), so its length
        counts images. Reasons come in the order blank, non-face, duplicate, and score
        is the first one's (pixel std, ``nonface_scores``, or the duplicate group's
        size); blank images are not scored as non-faces (nor used to fit).
    """
    blank = find_blank(x, blank_std)
    dup = find_duplicates(x, y)
    keep = np.setdiff1d(np.arange(len(x)), blank["index"].to_numpy())
    if x_fit is not None:
        x_fit = x_fit[np.setdiff1d(np.arange(len(x_fit)),
                                   find_blank(x_fit, blank_std)["index"].to_numpy())]
    nonface = find_nonfaces(x[keep], x_fit, alpha)
    nonface["index"] = keep[nonface["index"].to_numpy(int)]
    parts = [df for df in (blank, nonface, dup) if len(df)]  # a reason's score: its own
    if not parts:
        return pd.DataFrame(columns=COLUMNS)
    rows = pd.concat(parts, ignore_index=True)
    return (rows.groupby("index", sort=True)
            .agg(reason=("reason", "; ".join), score=("score", "first"),
                 detail=("detail", "; ".join))
            .reset_index()[COLUMNS])
