"""Networks over training seeds (notebook 02): one row of figures per network and seed,
stored rows for the seeds a CPU cannot afford to train inside the notebook, and the gap
between two networks with both of its noises.

A seed changes a run's initial weights, batch order, augmentation, dropout and its 90/10
split; the test images stay the same. So two networks' gap on the test images has two
noises: the spread between training seeds (how much another seed would move each mean)
and the test images' (another 1,000 faces would move both). ``seed_gap`` counts both.

Stored rows (``benchmarks/results/seeds_<profile>_<model>.csv``, written by
``benchmarks/seed_spread.py``) are used only for exactly this data (its hash), profile,
width and recipe; the notebook trains every seed it has no stored row for.
"""
from __future__ import annotations

import datetime
import platform
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .. import atomic, backend
from ..data.dataset import Dataset, data_key
from ..resources import result_files
from .metrics import paired_gain, scores, welch_margin

#: what identifies a stored row's training (a row is reused only when all of them match)
KEYS = ("data", "profile", "width", "model", "recipe")
#: a row's figures, in the order the seed table shows them (``seconds``: training time,
#: empty for stored rows measured without it)
FIGURES = ("epochs_run", "best_epoch", "val_acc", "public", "private", "seconds")


def seed_row(run, data: Dataset, seed: int) -> dict:
    """One trained run's figures: the seed, the epochs run and the epoch kept (1-based),
    validation accuracy at that epoch, accuracy on each labeled test split, and the
    training time in seconds (NaN when the run does not say)."""
    h = run.history
    kept = run.config.get("model_epoch")
    if kept is None and h is not None and "val_loss" in h and len(h):
        kept = int(np.argmin(h["val_loss"].to_numpy(float)))
    val = (float(h["val_accuracy"].iloc[kept]) if kept is not None and h is not None
           and "val_accuracy" in h else np.nan)
    return {"seed": int(seed), "epochs_run": 0 if h is None else len(h),
            "best_epoch": np.nan if kept is None else int(kept) + 1, "val_acc": val,
            **scores(run.model, data).to_dict(),
            "seconds": round(float(getattr(run, "seconds", np.nan)), 1)}


def stored_seeds(data: Dataset, profile, model: str, recipe: str = "keras_vgg") -> pd.DataFrame:
    """Stored rows (``benchmarks/results/seeds_*.csv``) for this exact data, profile, width,
    model and recipe, one per seed, indexed by seed; empty when there are none (another
    dataset, profile or width: the notebook then trains those seeds)."""
    want = {"data": data_key(data), "profile": profile.name, "width": float(profile.width),
            "model": model, "recipe": recipe}
    frames = [pd.read_csv(p) for p in result_files("seeds_*.csv")]
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[*KEYS, "seed"])
    match = np.ones(len(rows), bool)
    for k, v in want.items():
        column = rows[k].astype(float) if k == "width" else rows[k]
        match &= (column == v).to_numpy()
    found = rows[match].drop_duplicates("seed", keep="last")
    return found.set_index("seed", drop=False).sort_index()


def write_seed_rows(rows: list[dict], path: str | Path, data: Dataset, profile, model: str,
                    recipe: str = "keras_vgg") -> Path:
    """Write rows from ``seed_row`` with what identifies their training (``KEYS``) and
    where they were measured (backend, Python, date), replacing the file atomically."""
    meta = {"data": data_key(data), "profile": profile.name, "width": float(profile.width),
            "model": model, "recipe": recipe, "backend": backend.name(),
            "keras": metadata.version("keras"), "python": platform.python_version(),
            "machine": platform.machine(), "date": datetime.date.today().isoformat()}
    table = pd.DataFrame([{**meta, **r} for r in rows])
    path = Path(path)
    atomic.write_text(path, table.to_csv(index=False))
    return path


def seed_rows(data: Dataset, seeds, train, *, have: dict | None = None,
              stored: pd.DataFrame | None = None, name: str = "network") -> list[dict]:
    """One network's figures over ``seeds``, a row per seed (``seed_row``), each from the
    first of: ``have`` (runs already trained, by seed: "this run"), ``stored``
    (``stored_seeds``'s rows: "stored"), or training it now with ``train(seed)`` ("this
    run", with a progress bar). Where a seed is both trained here and stored, one line
    says whether this machine reproduced the stored figures.
    """
    have = have or {}
    stored = stored if stored is not None else pd.DataFrame()
    rows = {}
    for s, run in have.items():
        rows[s] = {**seed_row(run, data, s), "source": "this run"}
        if s in stored.index:
            print(reproduced(rows[s], stored.loc[s], name))
    for s in seeds:
        if s not in rows and s in stored.index:
            rows[s] = {"seed": s, **{c: stored.loc[s, c] for c in FIGURES if c in stored},
                       "source": "stored"}
    todo = [s for s in seeds if s not in rows]
    for s in tqdm(todo, desc=f"training {name}", unit="seed", disable=not todo):
        rows[s] = {**seed_row(train(s), data, s), "source": "this run"}
    return [rows[s] for s in sorted(rows)]


def reproduced(mine: dict, stored: pd.Series, name: str = "network") -> str:
    """Whether a seed trained here matches the stored row of the same seed, in one line."""
    keys = [k for k in ("public", "private", "val_acc") if k in mine and k in stored]
    diff = max(abs(float(mine[k]) - float(stored[k])) for k in keys)
    where = (f"{stored.get('backend', '?')}, Python {stored.get('python', '?')}, "
             f"{stored.get('date', '?')}")
    figures = ", ".join(f"{k} {float(mine[k]):.3f} vs {float(stored[k]):.3f}" for k in keys)
    if diff < 5e-4:
        return (f"{name}, seed {int(mine['seed'])}: this run's figures equal the stored run's "
                f"({figures}; stored: {where}), so the stored seeds are what this machine "
                "would train.")
    return (f"{name}, seed {int(mine['seed'])}: this run differs from the stored run by up to "
            f"{diff:.3f} ({figures}; stored: {where}): this machine does not reproduce them "
            "exactly, so the stored seeds stand for the spread between seeds, not for what "
            "this machine would train.")


def seed_table(rows: dict[str, list[dict]]) -> pd.DataFrame:
    """One row per (network, seed) from ``{network: [seed_row, ...]}``: epochs run, the
    epoch kept, validation and test accuracies, and where each row came from (``source``:
    "this run" or "stored"); a network without epochs (a linear model) shows them empty."""
    t = pd.concat([pd.DataFrame(r).assign(network=name) for name, r in rows.items()],
                  ignore_index=True).set_index(["network", "seed"]).sort_index()
    for c in ("epochs_run", "best_epoch"):
        if c in t:
            t[c] = t[c].astype("Int64")
    first = [c for c in FIGURES if c in t]
    return t[first + [c for c in ("source",) if c in t]]


def seed_summary(table: pd.DataFrame, key: str) -> pd.DataFrame:
    """Per network: the mean of ``key`` over its seeds, their standard deviation, the
    standard error of the mean, the number of seeds, and the lowest and highest."""
    g = table[key].groupby(level="network")
    out = pd.DataFrame({"mean": g.mean(), "sd": g.std(ddof=1), "seeds": g.size(),
                        "min": g.min(), "max": g.max()})
    out["se"] = out["sd"] / np.sqrt(out["seeds"])
    return out[["mean", "sd", "se", "seeds", "min", "max"]]


def seed_gap(table: pd.DataFrame, key: str, a: str, b: str, y_true, pred_a, pred_b,
             level: float = 0.95) -> tuple[float, float, str]:
    """How far network ``a``'s mean ``key`` over its seeds is above or below ``b``'s, with
    both noises, in one line.

    The margin combines, in quadrature, Welch's ``level`` interval over the training seeds
    (``welch_margin``: their spread) and two paired standard errors over the test images
    (``paired_gain`` on one seed's predictions of each, ``pred_a`` and ``pred_b``). A
    network with one seed (a model fitted once) adds no seed spread of its own; when
    neither has two seeds, only the images count, and the line says so. The gap is
    resolved beyond the margin.

    Returns:
        (gap, margin, the line).
    """
    s = seed_summary(table, key)
    gap = float(s.loc[a, "mean"] - s.loc[b, "mean"])
    _, img_se = paired_gain(y_true, pred_b, pred_a)
    img = 2 * img_se
    na, nb = int(s.loc[a, "seeds"]), int(s.loc[b, "seeds"])
    se_a = 0.0 if na < 2 else float(s.loc[a, "se"])
    se_b = 0.0 if nb < 2 else float(s.loc[b, "se"])
    spread = welch_margin(se_a, se_b, na, nb, level) if max(na, nb) >= 2 else 0.0
    margin = float(np.hypot(spread, img))
    word = "above" if gap > 0 else "below"
    seeds = f"{na} and {nb} training seeds" if max(na, nb) >= 2 else "one training seed each"
    noise = (f"margin {margin:.3f}, training seeds {spread:.3f} ({level:.0%}, Welch) and test "
             f"images {img:.3f} (2 paired SE) combined as sqrt(a^2 + b^2)"
             if max(na, nb) >= 2 else
             f"margin {margin:.3f}: the test images only (2 paired SE), no spread between "
             "seeds measured")
    verdict = "resolved" if abs(gap) > margin else "not resolved"
    line = (f"{a} is {word} {b} by {abs(gap):.3f} {key} ({seeds}; means {s.loc[a, 'mean']:.3f} "
            f"and {s.loc[b, 'mean']:.3f}); {noise}: {verdict}")
    return gap, margin, line
