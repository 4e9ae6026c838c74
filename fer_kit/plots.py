"""Every figure of the kit, and ``save()`` for report-ready PNGs.

Each plotting function returns a matplotlib Figure; ``save(fig, name)`` writes
it to ``FER_KIT_FIGURES`` (default ``build/figures``) atomically.
"""
from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt  # headless: matplotlib falls back to Agg by itself
import numpy as np

from . import atomic
from .config import EMOTIONS


def set_style() -> None:
    """Readable defaults for report figures (sizes, grid, fonts)."""
    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 150, "savefig.bbox": "tight",
                         "axes.grid": False, "axes.titlesize": 11, "font.size": 10,
                         "image.cmap": "gray"})


def figures_dir() -> Path:
    return Path(os.environ.get("FER_KIT_FIGURES", "build/figures"))


def save(fig, name: str, folder: str | Path | None = None) -> Path:
    """Save ``fig`` as ``<folder>/<name>.png`` (atomically) and return the path."""
    folder = Path(folder) if folder is not None else figures_dir()
    path = folder / (name if name.endswith(".png") else f"{name}.png")
    with atomic.atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png")
    return path


def image_grid(x: np.ndarray, titles=None, ncols: int = 10, size: float = 1.1, suptitle=None):
    """Images (N, H, W[, 1]) in a grid, with optional per-image titles."""
    n = len(x)
    nrows = max(1, -(-n // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * size, nrows * (size + 0.15)),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            img = np.asarray(x[i])
            ax.imshow(img[..., 0] if img.ndim == 3 else img, cmap="gray",
                      vmin=0 if img.dtype == np.uint8 else None,
                      vmax=255 if img.dtype == np.uint8 else None)
            if titles is not None:
                ax.set_title(titles[i], fontsize=7)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def class_grid(x: np.ndarray, y: np.ndarray, per_class: int = 8, seed: int = 0, size: float = 1.0):
    """``per_class`` random samples of each emotion, one row per class."""
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(len(EMOTIONS), per_class,
                             figsize=(per_class * size + 1.2, len(EMOTIONS) * size), squeeze=False)
    for c, name in enumerate(EMOTIONS):
        idx = np.flatnonzero(y == c)
        pick = rng.choice(idx, min(per_class, len(idx)), replace=False) if len(idx) else []
        for j, ax in enumerate(axes[c]):
            ax.set_xticks([]), ax.set_yticks([])
            for s in ax.spines.values():
                s.set_visible(False)
            if j < len(pick):
                ax.imshow(x[pick[j], ..., 0], cmap="gray", vmin=0, vmax=255)
        axes[c, 0].set_ylabel(f"{c} {name}", rotation=0, ha="right", va="center", fontsize=9)
    fig.tight_layout()
    return fig
