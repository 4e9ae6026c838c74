"""Seed 003's normalization/augmentation ablation (plus seed 000's flip doubling),
repeated over random seeds, with a verdict that respects the noise.

    table = fk.ablation.run(data)                    # one fresh model per config and seed
    fk.ablation.summarize(table)                     # mean, spread and standard error per config
    fk.ablation.verdict(table).text                  # a winner only beyond the 95% margin

Every configuration trains the same model on the same 90/10 split (split seed 0); only
the data handling and the random seed (weights, shuffling, augmentation) change. The
long table (one row per configuration and seed) is written to ``ablation.csv``
(atomically) after each run, and a rerun with the same ``out``, setup and data (a hash of
the images and labels) skips the runs already in it, so an interrupted ablation loses at
most the run in progress, and new data (another SynthFER, or FER2013 itself) trains anew.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from . import atomic
from .augment import AugmentConfig
from .config import ConfigError, Profile, get_profile, runs_dir
from .data.io import Dataset

# Seed 003's table (in its order), then seed 000's flip doubling.
CONFIGS: dict[str, dict] = {
    "baseline": {"augment": None, "normalization": "none"},
    "augmentation": {"augment": AugmentConfig.seed003(), "normalization": "none"},
    "featurewise": {"augment": None, "normalization": "featurewise"},
    "samplewise": {"augment": None, "normalization": "samplewise"},
    "samplewise+featurewise": {"augment": None, "normalization": "samplewise+featurewise"},
    "flip_double": {"augment": None, "normalization": "none", "flip_double": True},
}
COLUMNS = ["config", "seed", "val_acc", "val_loss", "public", "private", "epochs", "seconds",
           "run_dir"]
METRICS = ("val_acc", "public", "private")


def data_key(data: Dataset) -> str:
    """The dataset's name and a hash of its labeled images and labels (12 hex digits)."""
    h = hashlib.sha256()
    for split in (data.train, data.public, data.private):
        if split is not None:
            h.update(np.ascontiguousarray(split.x).data)
            if split.y is not None:
                h.update(np.ascontiguousarray(split.y, np.int64).data)
        h.update(b"|")
    return f"{data.name}:{h.hexdigest()[:12]}"


def setup_of(prof: Profile, model: str, epochs: int) -> str:
    """One line saying what every row of the table was trained with."""
    width = prof.ablation_width or prof.width
    images = f"{prof.ablation_train:,}" if prof.ablation_train else "all"
    bn = "" if prof.ablation_bn_momentum == 0.99 else f", batch-norm momentum {prof.ablation_bn_momentum}"
    return (f"{model} at width {width}{bn}, {images} training-pool images (90/10 split), "
            f"{epochs} epochs, batch {min(128, prof.batch_size)}, seed 003's optimizer")


def run(data: Dataset, model: str | None = None, configs: list[str] | None = None,
        profile: str | Profile | None = None, seeds=None, out: str | Path | None = None,
        epochs: int | None = None, verbose: int = 0, seed: int | None = None) -> pd.DataFrame:
    """Train one model per configuration and random seed, and tabulate the results.

    Args:
        data: the dataset (its training pool is split 90/10 with split seed 0).
        model: a registered model name (default: ``profile.ablation_model``), built at
            ``profile.ablation_width`` (else the profile's width) with
            ``profile.ablation_bn_momentum``.
        configs: names from CONFIGS (default: all, in seed 003's order).
        profile: sets width and data budget; epochs default to ``profile.ablation_epochs``,
            training images to ``profile.ablation_train``, seeds to
            ``range(profile.ablation_seeds)``.
        seeds: random seeds for weights, shuffling and augmentation (``seed=s`` for one).
        out: folder for ``ablation.csv`` and one run folder per configuration and seed
            (default: FER_KIT_RUNS/ablation-<model>-<profile>).
        epochs: epochs per run (overrides the profile).

    Returns:
        DataFrame with COLUMNS, one row per (configuration, seed), figures of the model
        ``train.fit`` returns (its best epoch by validation loss); public/private are
        NaN without labels. ``table.attrs["setup"]`` says how the rows were trained.
    """
    import keras

    from . import evaluate, models, train  # here, so plots can read tables without training code
    prof = profile if isinstance(profile, Profile) else get_profile(profile)
    names = list(CONFIGS) if configs is None else list(configs)
    unknown = [n for n in names if n not in CONFIGS]
    if unknown:
        raise ConfigError(f"unknown ablation config(s) {unknown}; choose from {list(CONFIGS)}")
    if seeds is None:
        seeds = [seed] if seed is not None else list(range(prof.ablation_seeds))
    seeds = [int(s) for s in np.atleast_1d(seeds)]
    model = model or prof.ablation_model
    n_epochs = epochs or prof.ablation_epochs
    width = prof.ablation_width or prof.width
    if prof.ablation_train is not None:
        prof = replace(prof, max_train=min(prof.ablation_train, prof.max_train or np.inf))
    setup = setup_of(prof, model, n_epochs)
    out = Path(out) if out else runs_dir() / f"ablation-{model}-{prof.name}"
    out.mkdir(parents=True, exist_ok=True)
    table_path = out / "ablation.csv"
    key = data_key(data)
    rows = _done_rows(table_path, setup, key)

    todo = [(n, s) for s in seeds for n in names if (n, s) not in rows]
    # Each row is a new model trained briefly: on a CPU under TensorFlow, XLA's compile time
    # outweighs what it saves (3 rows of the demo: 46 s without, 61 s with, same figures).
    jit = False if keras.backend.backend() == "tensorflow" and not train.accelerator() else "auto"
    for name, s in tqdm(todo, desc="ablation", unit="run", disable=not todo):
        net = models.build(model, width=width, bn_momentum=prof.ablation_bn_momentum)
        res = train.fit(data.train, net, "keras_vgg", profile=prof,
                        run_dir=out / f"{name}-rng{s}", seed=s, split_seed=0, checkpoints=False,
                        verbose=verbose, data_name=data.name, epochs=n_epochs, jit_compile=jit,
                        **CONFIGS[name])
        val_loss, val_acc = res.model.evaluate(res.val.x, res.val.y, batch_size=256, verbose=0,
                                               return_dict=False)[:2]
        sc = evaluate.scores(res.model, data)
        rows[(name, s)] = {"config": name, "seed": s, "val_acc": float(val_acc),
                           "val_loss": float(val_loss), "public": sc.get("public", np.nan),
                           "private": sc.get("private", np.nan), "epochs": len(res.history),
                           "seconds": round(res.seconds, 1), "run_dir": str(res.run_dir),
                           "setup": setup, "data": key}
        atomic.write_text(table_path, pd.DataFrame(rows.values()).to_csv(index=False))
    table = pd.DataFrame([rows[(n, s)] for n in names for s in seeds])[COLUMNS]
    table = table.reset_index(drop=True)
    table.attrs["setup"] = setup
    return table


def _done_rows(path: Path, setup: str, key: str) -> dict[tuple[str, int], dict]:
    """Rows of an earlier, interrupted run of the same ablation (same setup, same data)."""
    if not path.is_file():
        return {}
    old = pd.read_csv(path)
    if not {"setup", "seed", "data"} <= set(old):
        return {}  # written before the data was recorded: which data is unknown
    old = old[(old["setup"] == setup) & (old["data"] == key)]
    return {(r["config"], int(r["seed"])): r for r in old.to_dict("records")}


def summarize(table: pd.DataFrame, metrics=METRICS) -> pd.DataFrame:
    """Per configuration (in the table's order): seeds, and for each metric the mean, the
    standard deviation across seeds (``sd``) and the standard error of the mean (``se``)."""
    t = pd.DataFrame(table)
    metrics = [m for m in metrics if m in t and t[m].notna().any()]
    grouped = t.groupby("config", sort=False)
    parts = {"seeds": grouped.size()}
    for m in metrics:
        parts[f"{m}_mean"] = grouped[m].mean()
        parts[f"{m}_sd"] = grouped[m].std(ddof=1)
        parts[f"{m}_se"] = parts[f"{m}_sd"] / np.sqrt(parts["seeds"])
    return pd.DataFrame(parts)


@dataclass(frozen=True)
class Verdict:
    """What an ablation table can and cannot say.

    Attributes:
        winner: the best configuration, or None when its margin over the runner-up is
            within the noise (or there is one seed, so no noise estimate).
        text: the reading, one line per comparison.
    """

    winner: str | None
    text: str


def _margin(se_a: float, se_b: float, n_a: int, n_b: int, level: float) -> float:
    """Half-width of the ``level`` interval of a difference of two means (Welch's t)."""
    from scipy.stats import t
    var = se_a ** 2 + se_b ** 2
    if not np.isfinite(var) or var == 0:
        return 0.0 if var == 0 else np.inf
    df = var ** 2 / (se_a ** 4 / max(n_a - 1, 1) + se_b ** 4 / max(n_b - 1, 1))
    return float(t.ppf(0.5 + level / 2, df) * np.sqrt(var))


def verdict(table: pd.DataFrame, metric: str = "val_acc", baseline: str = "baseline",
            level: float = 0.95) -> Verdict:
    """The best configuration by mean ``metric``, named a winner only when its lead over
    the runner-up exceeds the ``level`` (95%) interval of that difference (Welch's t over
    the seeds: with 3 seeds a row, about 2.8 standard errors); each configuration is also
    set against the baseline by the same rule.
    """
    s = summarize(table, [metric])
    mean, se, n = s[f"{metric}_mean"], s[f"{metric}_se"], s["seeds"]
    order = mean.sort_values(ascending=False).index
    best = order[0]
    lines = []
    if len(order) < 2:
        return Verdict(best, f"{best}: {mean[best]:.3f} (only one configuration)")
    if n.min() < 2:
        lines.append(f"best by mean {metric}: {best} ({mean[best]:.3f}); one seed per "
                     "configuration, so no spread to judge a difference by: no winner.")
        return Verdict(None, "\n".join(lines))
    pct = f"{level:.0%}"
    second = order[1]
    lead = mean[best] - mean[second]
    noise = _margin(se[best], se[second], n[best], n[second], level)
    winner = best if lead > noise else None
    if winner:
        lines.append(f"winner: {best} ({mean[best]:.3f}), ahead of {second} "
                     f"({mean[second]:.3f}) by {lead:.3f}, beyond the {pct} margin ({noise:.3f}).")
    else:
        lines.append(f"no difference this budget can resolve: {best} ({mean[best]:.3f}) leads "
                     f"{second} ({mean[second]:.3f}) by {lead:.3f}, within the {pct} margin "
                     f"({noise:.3f}).")
    if baseline in mean.index:
        for name in mean.index.drop(baseline):
            diff = mean[name] - mean[baseline]
            err = _margin(se[name], se[baseline], n[name], n[baseline], level)
            word = ("better than" if diff > 0 else "worse than") if abs(diff) > err \
                else "not distinguishable from"
            lines.append(f"  {name:24s} {diff:+.3f} +/- {err:.3f}: {word} the baseline")
    return Verdict(winner, "\n".join(lines))


def read_results(paths) -> pd.DataFrame:
    """A table in this module's columns from benchmark CSVs (``benchmarks/full_recipe.py``:
    ``public_acc``/``private_acc``), to set a measured full-budget table beside the demo's."""
    frames = [pd.read_csv(p) for p in paths]
    t = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return t.rename(columns={"public_acc": "public", "private_acc": "private"})
