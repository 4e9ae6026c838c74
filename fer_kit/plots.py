"""Every figure of the kit, and ``save()`` for report-ready PNGs.

Each plotting function returns a matplotlib Figure (one-panel figures take ``ax=`` to
draw into a subplot of yours, and then return that Axes); ``save(fig, name)`` writes it
to ``FER_KIT_FIGURES`` (default ``build/figures``) atomically and, in a notebook, shows
it inline, so the executed notebook and its HTML hold every figure too. A figure is shown
once however the cell ends (see :class:`Figure`).
"""
from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import matplotlib
import matplotlib.figure
import matplotlib.pyplot as plt  # headless: matplotlib falls back to Agg by itself
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.cm import ScalarMappable
from matplotlib.ticker import MaxNLocator

from . import atomic, config
from .config import EMOTIONS


def set_style() -> None:
    """Readable defaults for report figures (``fk.setup`` applies them too)."""
    plt.rcParams.update(config.FIGURE_STYLE)


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


class Figure(matplotlib.figure.Figure):
    """A matplotlib Figure that a notebook shows once.

    A cell that ends with ``plots.confusion(cm)`` would show a plain Figure twice under
    Jupyter's inline backend: as the cell's value, and again when the backend shows every
    open figure at the end of the cell. Both go through IPython's display, so this figure
    shows itself there as one PNG and closes, and whichever comes second finds it gone.
    """

    def _ipython_display_(self):
        _show_png(self, _render(self))


def _subplots(*args, **kwargs):
    """``plt.subplots`` making a :class:`Figure`."""
    return plt.subplots(*args, FigureClass=Figure, **kwargs)


def _render(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _show_png(fig, png: bytes) -> None:
    """Show a rendered figure inline (at the figure's own size) and close it."""
    from IPython.display import Image, display  # optional: only a notebook shows figures inline
    width = int.from_bytes(png[16:20], "big")  # from the PNG header (IHDR)
    # saved at savefig.dpi, shown at the figure's own size (crisp on high-dpi screens)
    saved_dpi = plt.rcParams["savefig.dpi"]
    scale = 1.0 if saved_dpi == "figure" else fig.dpi / float(saved_dpi)
    display(Image(data=png, format="png", width=int(width * scale)))
    plt.close(fig)


def save(fig, name: str, folder: str | Path | None = None, show: bool = True) -> SavedFigure:
    """Save ``fig`` as ``<folder>/<name>.png`` (atomically) and return the path.

    In a Jupyter kernel the same PNG is also shown inline, whatever the matplotlib
    backend (papermill and CI run with Agg, which shows nothing), and the figure is
    closed, so it appears exactly once.
    """
    fig = getattr(fig, "figure", fig)  # an Axes (from ax=) saves its whole figure
    folder = Path(folder) if folder is not None else figures_dir()
    path = SavedFigure(folder / (name if name.endswith(".png") else f"{name}.png"))
    png = _render(fig)  # rendered once: written to the file and shown inline
    atomic.write_bytes(path, png)
    if show and _in_notebook():
        _show_png(fig, png)
    return path


def image_grid(x: np.ndarray, titles=None, ncols: int = 10, size: float = 1.1, suptitle=None,
               cmap: str = "gray", colorbar: bool = False, symmetric: bool = False,
               vmin=None, vmax=None, colorbar_label: str = ""):
    """Images (N, H, W[, 1]) in a grid with a small gap between panels.

    Args:
        titles: one title per image.
        colorbar: for maps whose values matter (a mean or std image), a colour bar beside
            each panel, each on its own scale.
        symmetric: one scale for every panel, centred on zero (kernels: white is 0, the
            colours mean the same in every panel), with one shared colour bar.
        vmin, vmax: one shared scale for every panel, with one colour bar.
    """
    n = len(x)
    nrows = max(1, -(-n // ncols))
    # kernels (a few pixels a side) get a frame and a wider gap: their near-zero cells are
    # white like the page, and without them the panels run together into one strip
    tiny = n > 0 and np.asarray(x[0]).shape[0] <= 7
    fig, axes = _subplots(nrows, ncols, figsize=(ncols * size, nrows * (size + 0.15)),
                             squeeze=False, layout="constrained")
    gap = 0.12 if tiny else 0.04
    fig.get_layout_engine().set(wspace=gap, hspace=gap, w_pad=0.01, h_pad=0.01)
    if symmetric:
        m = float(np.nanmax(np.abs(np.asarray(x, np.float64)))) or 1.0
        vmin, vmax = -m, m
    shared = vmin is not None or vmax is not None
    im = None
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            img = np.asarray(x[i])
            lo, hi = (vmin, vmax) if shared else ((0, 255) if img.dtype == np.uint8 else (None, None))
            im = ax.imshow(img[..., 0] if img.ndim == 3 else img, cmap=cmap, vmin=lo, vmax=hi)
            if tiny:
                ax.axis("on")
                ax.set_xticks([]), ax.set_yticks([])
                for spine in ax.spines.values():
                    spine.set_color("0.45")
            if colorbar and not shared:
                fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
            if titles is not None:
                ax.set_title(titles[i], fontsize=7)
    if shared and im is not None:
        fig.colorbar(im, ax=axes, shrink=min(1.0, 0.9 * nrows / max(nrows, 2) + 0.3),
                     label=colorbar_label, aspect=30)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def class_grid(x: np.ndarray, y: np.ndarray, per_class: int = 8, seed: int = 0, size: float = 1.0):
    """``per_class`` random samples of each emotion, one row per class."""
    rng = np.random.default_rng(seed)
    fig, axes = _subplots(len(EMOTIONS), per_class,
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
    runs = {label: hist, **(others or {})}
    fig, axes = _subplots(1, 2, figsize=(10, 3.6 + 0.25 * len(runs) * (len(runs) > 1)),
                             layout="constrained")
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
    for ax, key in zip(axes, ("accuracy", "loss")):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
    if len(runs) > 1:  # one legend below both panels, clear of the curves
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=len(runs), fontsize=8)
    else:
        for ax in axes:
            ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


def confusion(cm, title: str = "Confusion matrix (row-normalized)", fmt: str = ".2f", ax=None):
    """A seaborn heatmap of a confusion-matrix DataFrame (``fk.evaluate.confusion``).

    Args:
        ax: an Axes of yours to draw in (then returned instead of a new Figure).
    """
    given = ax is not None
    fig, ax = (ax.figure, ax) if given else _subplots(figsize=(6.4, 5.4))
    # rows that sum to 1 are shares of the true class; else counts of images
    shares = np.allclose(np.asarray(cm, float).sum(axis=1)[np.asarray(cm).sum(axis=1) > 0], 1)
    sns.heatmap(cm, annot=True, fmt=fmt, cmap="Blues", square=True, cbar=True, ax=ax,
                vmin=0, annot_kws={"fontsize": 8},
                cbar_kws={"label": "share of the true class" if shares else "images"})
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    if given:
        return ax
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
    fig, axes = _subplots(n, len(names) + 1, figsize=((len(names) + 1) * size + 0.8, n * size),
                          squeeze=False, layout="constrained")
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
    bar = fig.colorbar(ScalarMappable(cmap="jet"), ax=axes[:, 1:], shrink=min(1.0, 3 / n + 0.2),
                       aspect=30)
    bar.set_label("map value, scaled to [0, 1] per image", fontsize=8)
    bar.ax.tick_params(labelsize=7)
    return fig


def filters(images, titles=None, ncols: int = 8, size: float = 1.1, suptitle=None,
            cmap: str = "gray", **scale):
    """A grid of filter images, feature maps (H, W, C: one panel per channel) or kernels.

    ``scale`` goes to ``image_grid``: ``symmetric=True`` for kernels (one scale centred
    on zero, one colour bar), ``vmin``/``vmax`` for one shared scale.
    """
    arr = np.asarray(images)
    if arr.ndim == 3:  # (H, W, C) feature maps or kernels -> (C, H, W)
        arr = np.moveaxis(arr, -1, 0)
    elif arr.ndim == 4 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    return image_grid(arr, titles, ncols, size, suptitle, cmap, **scale)


def ablation(table, metric: str = "val_acc", reference=None, chance: float | None = None,
             title: str = "Normalization and augmentation",
             labels: tuple[str, str] = ("this run", "full budget (GPU)")):
    """Mean accuracy per configuration with the seeds' spread (diamond: mean, whisker: one
    standard deviation, dots: single seeds); a measured ``reference`` table (e.g. the full
    budget on a GPU) in a second panel.

    A dot plot, not bars: the axis is zoomed to each panel's own values (the full budget's
    rows differ by tenths of a point), and a bar cut off at a zoomed axis would draw ratios
    that are not there.

    Args:
        table: ``fk.ablation.run``'s long table (one row per configuration and seed).
        metric: the accuracy column drawn ('val_acc', 'public' or 'private').
        reference: another such table, drawn beside it.
        labels: the two panels' names.
        chance: the majority-class rate, drawn as a dashed line where it is near the values
            (else the axis label gives it).
    """
    # fer_kit.ablation loads Keras and so TensorFlow (slow, and it fixes TensorFlow's
    # threads): imported when an ablation figure is drawn, so that a notebook's
    # `from fer_kit import plots` before fk.setup leaves the threads to setup
    from .ablation import summarize, verdict
    panels = [(labels[0], pd.DataFrame(table))]
    if reference is not None and len(reference):
        panels.append((labels[1], pd.DataFrame(reference)))
    fig, axes = _subplots(1, len(panels), figsize=(5.6 * len(panels), 3.8), squeeze=False)
    rows = max(t["config"].nunique() for _, t in panels)
    for ax, (name, t) in zip(axes[0], panels):
        s = summarize(t, [metric])
        configs = list(s.index)[::-1]  # first configuration on top
        mean = s.loc[configs, f"{metric}_mean"].to_numpy()
        sd = s.loc[configs, f"{metric}_sd"].fillna(0).to_numpy()
        win = verdict(t, metric).winner
        seeds_of = [t.loc[t["config"] == c, metric].to_numpy() for c in configs]
        for y, (c, m, d, vals) in enumerate(zip(configs, mean, sd, seeds_of)):
            color = "tab:orange" if c == win else "tab:blue"
            ax.errorbar([m], [y], xerr=[d], fmt="D", color=color, ms=7, capsize=3, zorder=3)
            ax.plot(vals, np.full(len(vals), y), "k.", ms=4, zorder=4)
        ax.set_yticks(np.arange(len(configs)), configs, fontsize=9)
        ax.set_ylim(-0.5, rows - 0.5)  # the same row spacing in both panels
        every = np.concatenate([mean - sd, mean + sd, *seeds_of])
        lo, hi = np.nanmin(every), np.nanmax(every)
        pad = max(0.08 * (hi - lo), 0.004)
        lo, hi = lo - pad, hi + pad
        note = ""
        if chance is not None:
            if lo - 0.4 <= chance <= hi:  # near the values: widen the axis to show it
                lo = min(lo, chance - pad)
                ax.axvline(chance, color="gray", ls="--", lw=1)
                note = "; dashed: majority class"
            else:
                note = f"; majority class {chance:.2f}: off scale"
        ax.set_xlim(max(0.0, lo), min(1.0, hi))
        ax.xaxis.set_major_locator(plt.MaxNLocator(6))
        seeds = int(s["seeds"].max())
        ax.set_title(f"{name}\n{seeds} seed{'s' * (seeds > 1)} per row; "
                     f"{'winner: ' + win if win else 'no resolvable winner'}", fontsize=10)
        ax.set_xlabel(f"{metric}: mean, 1 SD, seeds as dots{note}", fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(title + (" (each panel on its own scale)" if len(panels) > 1 else ""))
    fig.tight_layout()
    return fig


def seeds(per_seed, metric: str = "public", title: str = "Each network over training seeds",
          ax=None):
    """Accuracy per network and training seed (``fk.evaluate.seed_table``): dots for the
    seeds (hollow: stored rows, not trained in this run) just under the network's line,
    each seed a little lower than the one before so that close values stay apart, a
    diamond for the mean with one standard deviation, networks ordered by their mean
    (best on top).

    Args:
        per_seed: one row per (network, seed), with ``metric`` and optionally ``source``.
        metric: the accuracy column drawn ('public', 'private' or 'val_acc').
        ax: an Axes of yours to draw in (then returned instead of a new Figure).
    """
    t = pd.DataFrame(per_seed).reset_index()
    mean = t.groupby("network")[metric].mean().sort_values()  # best last: drawn on top
    given = ax is not None
    fig, ax = (ax.figure, ax) if given else _subplots(figsize=(7, 0.55 * len(mean) + 1.4))
    for y, (name, m) in enumerate(mean.items()):
        rows = t[t["network"] == name]
        sd = rows[metric].std(ddof=1) if len(rows) > 1 else 0.0
        ax.errorbar([m], [y], xerr=[sd], fmt="D", color="tab:blue", ms=7, capsize=3, zorder=3)
        stored = ((rows["source"] == "stored").to_numpy() if "source" in rows
                  else np.zeros(len(rows), bool))
        vals = rows[metric].to_numpy(float)
        level = y - 0.12 - 0.1 * (np.arange(len(rows)) % 3)  # seeds below the mean, apart
        ax.plot(vals[~stored], level[~stored], "k.", ms=6, zorder=4)
        ax.plot(vals[stored], level[stored], "o", mfc="none", mec="k", ms=5, zorder=4)
    ax.set_yticks(np.arange(len(mean)), list(mean.index), fontsize=9)
    n = int(t.groupby("network").size().max())
    hollow = "; hollow: stored seeds" if "source" in t and (t["source"] == "stored").any() else ""
    ax.set_xlabel(f"{metric} accuracy: diamond mean, bar 1 SD (up to {n} seeds)\n"
                  f"dots: single seeds, each a level lower than the one before{hollow}",
                  fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title)
    if given:
        return ax
    fig.tight_layout()
    return fig


def sanity(table, title: str = "Cascading randomization (Adebayo et al. 2018)", ax=None):
    """Rank correlation with the trained model's maps as layers are randomized top-down.

    Args:
        ax: an Axes of yours to draw in (then returned instead of a new Figure).
    """
    t = pd.DataFrame(table)
    order = t.drop_duplicates("step").sort_values("step")
    given = ax is not None
    fig, ax = (ax.figure, ax) if given else _subplots(figsize=(9, 3.8))
    for method, grp in t.groupby("method", sort=False):
        grp = grp.sort_values("step")
        ax.plot(grp["step"], grp["spearman"], "o-", ms=3, label=method)
    ax.set_xticks(order["step"], order["layer"], rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("Spearman rank correlation")
    ax.set_xlabel("randomized down to layer")
    ax.axhline(0, color="gray", lw=0.5)
    ax.set_title(title)
    ax.legend(fontsize=7, ncols=2)
    if given:
        return ax
    fig.tight_layout()
    return fig
