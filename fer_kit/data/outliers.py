"""Outlier detection for FER images (seed 003 found all-zero images with
inconsistent labels, and images that are not faces, in FER2013).

Three detectors, one table with one row per image:
  * blank or near-constant images (pixel standard deviation below a threshold);
  * exact duplicates, and among them duplicates whose labels disagree;
  * non-face candidates, by either of two tests: (a) the coarse, lighting-corrected
    layout of the face oval is unlike the pool's faces: in a pool of a few hundred
    images, it correlates negatively with the pool's own robust mean face (it looks less
    like a face than an unrelated picture would); in a larger pool, its distance from the
    pool's face space (the mean face and one principal direction per 300 images, at most
    12, best over shifts of up to 2 pixels) has a robust z-score above 6; (b) its
    reconstruction error in a PCA space of the pixels has a robust z-score above 12
    (textures and stripes).

Why the face space on large pools (issue 12): SynthFER v4's faces move by about 2 pixels
(shift sigma 0.09 / 0.065 half-image), and a moved face correlates poorly, even
negatively, with the blurred mean face: 2.7% of v4's faces did (0.3% with the shift
turned off; rotation, scale, exposure, gamma, background texture and identity spread
each changed that by at most 0.5 points). Principal directions absorb how the faces
vary and the shifts absorb the rest; the threshold comes from the pool's own score
distribution, as the face-space score has no "unrelated picture" null at zero.

Why not the PCA reconstruction error used before: on per-image standardised pixels it
measures detail, not faceness; real faces have more detail than smooth non-face
patches, so on scikit-image's real photographs it ranked faces as *more* anomalous
(ROC AUC 0.10-0.15). Distance in face space (Moghaddam & Pentland 1997) added nothing
over the mean-face correlation on a pool of 100 real faces (too few to fit face
directions). The template alone misses half of SynthFER's stripes and textures, which
the reconstruction error catches, hence both.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.decomposition import PCA

COLUMNS = ["index", "reason", "score", "detail"]
SHIFTS = [(dy, dx) for dy in (-2, 0, 2) for dx in (-2, 0, 2)]


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


def face_vectors(x: np.ndarray, pool: int = 4, shift: tuple[int, int] = (0, 0)) -> np.ndarray:
    """The face layout a template compares: (N, P) standardised values of the central oval.

    Each step follows the lighting correction of Sung & Poggio 1998 and Rowley et al.
    1998: ``pool`` x ``pool`` average-pool (48x48 -> 12x12: where eyes, nose and mouth
    are, not detail or noise); keep the central oval (the face, not background or hair);
    subtract the least-squares brightness plane (side lighting); replace values by their
    ranks (histogram equalisation: contrast and gamma); standardise. ``shift`` (rows,
    columns) looks at the image moved by that many pixels, edges repeated.
    """
    n, g = len(x), x.shape[1] // pool
    if shift != (0, 0):
        m = max(map(abs, shift))
        x = np.pad(x, ((0, 0), (m, m), (m, m), (0, 0)), mode="edge")
        x = x[:, m + shift[0]:m + shift[0] + g * pool, m + shift[1]:m + shift[1] + g * pool]
    a = x[:, :g * pool, :g * pool].astype(np.float64 if x.dtype.kind == "f" else np.int32)
    a = a.sum(-1)  # channels; then sums over strided slices (several times a 6-D mean's speed)
    a = sum(a[:, i::pool] for i in range(pool))
    a = sum(a[:, :, j::pool] for j in range(pool))
    f = (a / (pool * pool * x.shape[-1])).astype(np.float32)  # (N, g, g)
    c = (np.arange(g) - (g - 1) / 2) / (g / 2)  # pixel centres in [-1, 1]
    yy, xx = np.meshgrid(c, c, indexing="ij")
    oval = (yy / 0.8) ** 2 + (xx / 0.65) ** 2 <= 1  # (g, g), taller than wide
    plane = np.stack([np.ones(oval.sum()), yy[oval], xx[oval]], 1)  # (P, 3): 1, y, x
    f = f[:, oval]  # (N, P)
    f = f - f @ np.linalg.pinv(plane).T @ plane.T  # minus each image's best-fit plane
    f = rankdata(f, axis=1).astype(np.float32)  # ties (a blank image) share a rank
    f -= f.mean(axis=1, keepdims=True)
    return f / np.maximum(f.std(axis=1, keepdims=True), 1e-3)


def fit_mean_face(x: np.ndarray, trim: float = 0.2, rounds: int = 2) -> np.ndarray:
    """Robust mean of ``face_vectors(x)``: the mean, refit ``rounds`` times without the
    ``trim`` share least correlated with it (the pool is mostly, not only, faces)."""
    f = face_vectors(x)
    keep = np.ones(len(f), bool)
    for _ in range(rounds):
        corr = f @ f[keep].mean(0)
        keep = corr >= np.quantile(corr, trim)
    return f[keep].mean(0)


def face_directions(n_fit: int) -> int:
    """Face directions fitted besides the mean face: one per 300 pool images, at most 12
    (0 for a pool of a few hundred: too few faces to fit how faces vary)."""
    return min(12, n_fit // 300)


def nonface_scores(x: np.ndarray, x_fit: np.ndarray | None = None,
                   n_directions: int | None = None) -> np.ndarray:
    """Non-faceness of each image, (N,), from the face layout of ``x_fit`` (default ``x``).

    With no face directions (a small pool): one minus the correlation with the robust mean
    face, 0 for the mean face itself, about 1 for an unrelated image. With ``k`` directions
    (default ``face_directions(len(x_fit))``): one minus the norm of the image's projection
    onto the face space (the mean face and the ``k`` principal directions of the faces
    kept by ``fit_mean_face``, which absorb pose, identity and expression), the best over
    shifts of up to 2 pixels (``SHIFTS``: SynthFER v4's faces move by about 2 pixels).
    """
    xf = x if x_fit is None else x_fit
    k = face_directions(len(xf)) if n_directions is None else n_directions
    mean_face = fit_mean_face(xf)
    m = mean_face / np.linalg.norm(mean_face)
    if k == 0:
        f = face_vectors(x)
        return 1 - f @ m / np.sqrt(f.shape[1])
    f = face_vectors(xf)
    corr = f @ m
    kept = f[corr >= np.quantile(corr, 0.2)]  # as fit_mean_face keeps them
    _, _, vt = np.linalg.svd(kept - np.outer(kept @ m, m), full_matrices=False)
    basis = np.vstack([m, vt[:k]])  # (k + 1, P), orthonormal
    energy = 0.0
    for shift in SHIFTS:
        g = face_vectors(x, shift=shift)
        energy = np.maximum(energy, ((g @ basis.T) ** 2).sum(1) / g.shape[1])
    return 1 - np.sqrt(energy)


def _standardize(x: np.ndarray) -> np.ndarray:
    """2x2 average-pool (pixel noise is not what makes a non-face), then per-image z-score."""
    n, h, w = len(x), x.shape[1] // 2 * 2, x.shape[2] // 2 * 2
    pooled = x[:, :h, :w].astype(np.float32).reshape(n, h // 2, 2, w // 2, 2, -1).mean((2, 4))
    flat = pooled.reshape(n, -1)
    flat -= flat.mean(axis=1, keepdims=True)
    return flat / np.maximum(flat.std(axis=1, keepdims=True), 1e-3)


def reconstruction_errors(x: np.ndarray, x_fit: np.ndarray | None = None,
                          n_components: int = 40, seed: int = 0) -> np.ndarray:
    """Mean squared PCA reconstruction error of each image (standardised), PCA fit on
    ``x_fit``: high for textures and stripes, but low for smooth non-faces."""
    fit = _standardize(x if x_fit is None else x_fit)
    pca = PCA(n_components=min(n_components, *fit.shape), random_state=seed).fit(fit)
    z = _standardize(x)
    recon = pca.inverse_transform(pca.transform(z))
    return ((z - recon) ** 2).mean(axis=1)


def _robust_z(v: np.ndarray) -> np.ndarray:
    med = np.median(v)
    return (v - med) / (np.median(np.abs(v - med)) * 1.4826 + 1e-12)  # MAD ~ std if normal


def find_nonfaces(x: np.ndarray, x_fit: np.ndarray | None = None, min_corr: float = 0.0,
                  z_threshold: float = 12.0, face_z: float = 6.0, seed: int = 0) -> pd.DataFrame:
    """Non-face candidates, by either test: (a) the face-layout score (``nonface_scores``)
    is out of line: a mean-face correlation below ``min_corr`` when the pool is too small
    for face directions, else a robust z-score (median and MAD over ``x``) of the
    face-space score above ``face_z``; (b) a robust z-score of ``reconstruction_errors``
    above ``z_threshold``.

    Score is ``nonface_scores``.
    """
    n_fit = len(x if x_fit is None else x_fit)
    s = nonface_scores(x, x_fit)
    z = _robust_z(reconstruction_errors(x, x_fit, seed=seed))
    if face_directions(n_fit) == 0:
        a, what = 1 - s < min_corr, [f"mean-face correlation {1 - v:.2f}" for v in s]
    else:
        zs = _robust_z(s)
        a, what = zs > face_z, [f"face-space score {v:.2f} (z {w:.1f})" for v, w in zip(s, zs)]
    idx = np.flatnonzero(a | (z > z_threshold))
    return pd.DataFrame({"index": idx, "reason": "non-face candidate", "score": s[idx],
                         "detail": [f"{what[i]}, reconstruction z {z[i]:.1f}" for i in idx]},
                        columns=COLUMNS)


def find_outliers(x: np.ndarray, y: np.ndarray | None = None, x_fit: np.ndarray | None = None,
                  blank_std: float = 2.0, min_corr: float = 0.0, z_threshold: float = 12.0,
                  face_z: float = 6.0, seed: int = 0) -> pd.DataFrame:
    """Run all three detectors and return one row per image, sorted by index.

    Args:
        x: uint8 images (N, 48, 48, 1).
        y: labels, used to spot duplicates whose labels disagree.
        x_fit: images to fit the mean face on (the training set); default ``x``.
        blank_std: threshold of ``find_blank``.
        min_corr, z_threshold, face_z: thresholds of ``find_nonfaces``.
        seed: of the PCA.

    Returns:
        DataFrame with columns index, reason, score, detail; an image with several
        reasons has them joined ("blank; duplicate, labels disagree"), so its length
        counts images. Score is the first reason's; blank images are not scored as
        non-faces (nor used to fit).
    """
    blank = find_blank(x, blank_std)
    dup = find_duplicates(x, y)
    keep = np.setdiff1d(np.arange(len(x)), blank["index"].to_numpy())
    nonface = find_nonfaces(x[keep], x_fit if x_fit is not None else x[keep], min_corr,
                            z_threshold, face_z, seed)
    nonface["index"] = keep[nonface["index"].to_numpy(int)]
    parts = [df for df in (blank, dup, nonface) if len(df)]
    if not parts:
        return pd.DataFrame(columns=COLUMNS)
    rows = pd.concat(parts, ignore_index=True)
    return (rows.groupby("index", sort=True)
            .agg(reason=("reason", "; ".join), score=("score", "first"),
                 detail=("detail", "; ".join))
            .reset_index()[COLUMNS])
