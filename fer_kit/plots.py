"""Every figure of the kit, and ``save()`` for report-ready PNGs.

Each plotting function returns a matplotlib Figure; ``save(fig, name)`` writes
it to ``FER_KIT_FIGURES`` (default ``build/figures``) atomically and, in a notebook,
shows it inline, so the executed notebook and its HTML hold every figure too.
"""
from __future__ import annotations

import io
import os
import sys
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


class SavedFigure(type(Path())):
    """The path of a saved figure; a notebook shows it as one caption line under the figure."""

    def _repr_pretty_(self, p, cycle):
        p.text(f"saved {self}")


def _in_notebook() -> bool:
    ip = sys.modules.get("IPython")
    shell = ip.get_ipython() if ip is not None else None
    return shell is not None and hasattr(shell, "kernel")


def save(fig, name: str, folder: str | Path | None = None, show: bool = True) -> SavedFigure:
    """Save ``fig`` as ``<folder>/<name>.png`` (atomically) and return the path.

    In a Jupyter kernel the same PNG is also shown inline, whatever the matplotlib
    backend (papermill and CI run with Agg, which shows nothing), and the figure is
    closed, so it appears exactly once.
    """
    folder = Path(folder) if folder is not None else figures_dir()
    path = SavedFigure(folder / (name if name.endswith(".png") else f"{name}.png"))
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    with atomic.atomic_path(path, suffix=".png") as tmp:
        Path(tmp).write_bytes(buf.getvalue())
    if show and _in_notebook():
        from IPython.display import Image, display
        png = buf.getvalue()
        width = int.from_bytes(png[16:20], "big")  # from the PNG header (IHDR)
        # saved at savefig.dpi, shown at the figure's own size (crisp on high-dpi screens)
        saved_dpi = plt.rcParams["savefig.dpi"]
        scale = 1.0 if saved_dpi == "figure" else fig.dpi / float(saved_dpi)
        display(Image(data=png, format="png", width=int(width * scale)))
        plt.close(fig)
    return path


def image_grid(x: np.ndarray, titles=None, ncols: int = 10, size: float = 1.1, suptitle=None,
               cmap: str = "gray", colorbar: bool = False):
    """Images (N, H, W[, 1]) in a grid, with optional per-image titles and, for maps
    whose values matter (a mean or std image), a colour bar beside each."""
    n = len(x)
    nrows = max(1, -(-n // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * size, nrows * (size + 0.15)),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            img = np.asarray(x[i])
            im = ax.imshow(img[..., 0] if img.ndim == 3 else img, cmap=cmap,
                           vmin=0 if img.dtype == np.uint8 else None,
                           vmax=255 if img.dtype == np.uint8 else None)
            if colorbar:
                fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
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


def history(hist, title: str | None = None, others: dict | None = None, label: str = ""):
    """Accuracy and loss, training vs validation, in two panels.

    Args:
        hist: a history DataFrame (run's history.csv) or Keras ``History.history`` dict.
        others: more histories to draw in the same panels, {label: history} (CNN vs DNN).
        label: the first history's label when there are others.
    """
    import pandas as pd
    runs = {label: hist, **(others or {})}
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (label, h) in enumerate(runs.items()):
        h = pd.DataFrame(h)
        epochs = (h["epoch"] + 1) if "epoch" in h else np.arange(1, len(h) + 1)
        for ax, key in zip(axes, ("accuracy", "loss")):
            pre = f"{label} " if label else ""
            ax.plot(epochs, h[key], "-", color=colors[i % 10], label=f"{pre}train")
            if f"val_{key}" in h:
                ax.plot(epochs, h[f"val_{key}"], "--", color=colors[i % 10],
                        label=f"{pre}validation")
    from matplotlib.ticker import MaxNLocator
    for ax, key in zip(axes, ("accuracy", "loss")):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def confusion(cm, title: str = "Confusion matrix (row-normalized)", fmt: str = ".2f"):
    """A seaborn heatmap of a confusion-matrix DataFrame (``fk.evaluate.confusion``)."""
    import seaborn as sns
    fig, ax = plt.subplots(figsize=(6.4, 5.4))
    sns.heatmap(cm, annot=True, fmt=fmt, cmap="Blues", square=True, cbar=True, ax=ax,
                vmin=0, annot_kws={"fontsize": 8})
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def predictions(x, y_true, y_pred, n: int = 20, ncols: int = 10, seed: int = 0, only_wrong=False):
    """Images with true and predicted labels (red when wrong); ``only_wrong`` for mistakes."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    idx = np.flatnonzero(y_true != y_pred) if only_wrong else np.arange(len(x))
    idx = np.random.default_rng(seed).choice(idx, min(n, len(idx)), replace=False)
    fig = image_grid(x[idx], ncols=ncols, size=1.25)
    for ax, i in zip(fig.axes, idx):
        ok = y_true[i] == y_pred[i]
        ax.set_title(f"{EMOTIONS[y_true[i]]}\n-> {EMOTIONS[y_pred[i]]}", fontsize=7,
                     color="black" if ok else "crimson")
    fig.suptitle("true -> predicted" + (" (misclassified)" if only_wrong else ""))
    fig.tight_layout()
    return fig


def misclassified(x, y_true, y_pred, n: int = 20, ncols: int = 10, seed: int = 0):
    """Misclassified examples with their true and predicted labels."""
    return predictions(x, y_true, y_pred, n, ncols, seed, only_wrong=True)


def saliency(images, maps: dict, titles=None, masks=None, overlay: bool = False, size=1.5):
    """One row per image: the image scaled to [0, 1], then each method's map.

    Args:
        images: (N, H, W[, 1]) images.
        maps: {method: (N, H, W) maps in [0, 1]} (``fk.vis.explain``).
        masks: optional (N, H, W) ground-truth masks, outlined on the image.
        overlay: draw maps over the image (jet, alpha 0.5) instead of alone.
    """
    images = np.asarray(images, np.float32)
    n, names = len(images), list(maps)
    fig, axes = plt.subplots(n, len(names) + 1, figsize=((len(names) + 1) * size, n * size),
                             squeeze=False)
    for i in range(n):
        img = images[i, ..., 0] if images.ndim == 4 else images[i]
        img = (img - img.min()) / (img.max() - img.min() + 1e-8)
        axes[i, 0].imshow(img, cmap="gray", vmin=0, vmax=1)
        if masks is not None:
            axes[i, 0].contour(masks[i], levels=[0.5], colors="lime", linewidths=0.6)
        if titles is not None:
            axes[i, 0].set_ylabel(titles[i], fontsize=8)
        for j, name in enumerate(names, 1):
            if overlay:
                axes[i, j].imshow(img, cmap="gray", vmin=0, vmax=1)
                axes[i, j].imshow(maps[name][i], cmap="jet", alpha=0.5, vmin=0, vmax=1)
            else:
                axes[i, j].imshow(maps[name][i], cmap="jet", vmin=0, vmax=1)
    for j, name in enumerate(["image", *names]):
        axes[0, j].set_title(name, fontsize=9)
    for ax in axes.flat:
        ax.set_xticks([]), ax.set_yticks([])
    fig.tight_layout()
    return fig


def filters(images, titles=None, ncols: int = 8, size: float = 1.1, suptitle=None,
            cmap: str = "gray"):
    """A grid of filter images, feature maps (H, W, C: one panel per channel) or kernels."""
    arr = np.asarray(images)
    if arr.ndim == 3:  # (H, W, C) feature maps or kernels -> (C, H, W)
        arr = np.moveaxis(arr, -1, 0)
    elif arr.ndim == 4 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    return image_grid(arr, titles, ncols, size, suptitle, cmap)


def ablation(table, metric: str = "val_acc", title: str = "Normalization and augmentation"):
    """Bar chart of an ablation table (``fk.ablation.run``), best bar highlighted."""
    import pandas as pd
    t = pd.DataFrame(table)
    cols = [c for c in ("val_acc", "public", "private") if c in t and t[c].notna().any()]
    fig, ax = plt.subplots(figsize=(8, 3.6))
    width = 0.8 / len(cols)
    xs = np.arange(len(t))
    for k, c in enumerate(cols):
        bars = ax.bar(xs + (k - (len(cols) - 1) / 2) * width, t[c], width, label=c)
        ax.bar_label(bars, fmt="%.3f", fontsize=7)
    best = int(t[metric].to_numpy().argmax())
    ax.set_xticks(xs, t["config"], rotation=15)
    ax.get_xticklabels()[best].set_fontweight("bold")
    lo = float(t[cols].min().min())
    ax.set_ylim(max(0.0, lo - 0.1), min(1.0, float(t[cols].max().max()) + 0.05))
    ax.set_ylabel("accuracy")
    ax.set_title(f"{title} (best by {metric}: {t['config'][best]})")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def sanity(table, title: str = "Cascading randomization (Adebayo et al. 2018)"):
    """Rank correlation with the trained model's maps as layers are randomized top-down."""
    import pandas as pd
    t = pd.DataFrame(table)
    order = t.drop_duplicates("step").sort_values("step")
    fig, ax = plt.subplots(figsize=(9, 3.8))
    for method, grp in t.groupby("method", sort=False):
        grp = grp.sort_values("step")
        ax.plot(grp["step"], grp["spearman"], "o-", ms=3, label=method)
    ax.set_xticks(order["step"], order["layer"], rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("Spearman rank correlation")
    ax.set_xlabel("randomized down to layer")
    ax.axhline(0, color="gray", lw=0.5)
    ax.set_title(title)
    ax.legend(fontsize=7, ncols=2)
    fig.tight_layout()
    return fig
