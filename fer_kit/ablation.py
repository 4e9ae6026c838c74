"""Seed 003's normalization/augmentation ablation (plus seed 000's flip doubling),
repeated over random seeds, with a verdict that respects the noise.

    table = fk.ablation.run(data)                    # one fresh model per config and seed
    fk.ablation.summarize(table)                     # mean, spread and standard error per config
    fk.ablation.verdict(table).text                  # a winner only beyond the 95% margin
    fk.ablation.run(data, regime="overfit")          # few images, many epochs: baseline vs augmentation

Two regimes (``REGIMES``): "short", the profile's short budget, where whatever learns
fastest leads (augmentation makes each step harder, so it trails); and "overfit", few
training images and many epochs, where the baseline memorizes its images and
augmentation has something to prevent, as on FER2013 at the full budget. The table and
the verdict name the regime their rows were trained in.

Every configuration trains the same model on the same 90/10 split (split seed 0 unless
``split_seed`` says otherwise); only the data handling and the random seed (weights,
shuffling, augmentation) change. The long table (one row per configuration and seed) is written to ``ablation.csv``
(atomically) after each run, and a rerun with the same ``out``, setup and data (a hash of
the images and labels) skips the runs already in it, so an interrupted ablation loses at
most the run in progress, and new data (another SynthFER, or FER2013 itself) trains anew.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from . import atomic, backend, evaluate, models, train
from .augment import AugmentConfig
from .config import ConfigError, Profile, get_profile, runs_dir, seed_everything
from .data.dataset import data_key
from .data.io import Dataset, Split
from .data.outliers import find_outliers
from .preprocess import FeaturewiseNormalizer

# Seed 003's table (in its order), then seed 000's flip doubling.
CONFIGS: dict[str, dict] = {
    "baseline": {"augment": None, "normalization": "none"},
    "augmentation": {"augment": AugmentConfig.seed003(), "normalization": "none"},
    "featurewise": {"augment": None, "normalization": "featurewise"},
    "samplewise": {"augment": None, "normalization": "samplewise"},
    "samplewise+featurewise": {"augment": None, "normalization": "samplewise+featurewise"},
    "flip_double": {"augment": None, "normalization": "none", "flip_double": True},
    # seed 003's explanation for featurewise's loss, as a row: the same normalization,
    # trained on the pool without the images fk.data.outliers flags
    "featurewise_no_outliers": {"augment": None, "normalization": "featurewise",
                                "drop_outliers": True},
}
DEFAULT_CONFIGS = ("baseline", "augmentation", "featurewise", "samplewise",
                   "samplewise+featurewise", "flip_double")
COLUMNS = ["config", "seed", "val_acc", "val_loss", "public", "private", "epochs", "seconds",
           "run_dir", "regime"]
METRICS = ("val_acc", "public", "private")


@dataclass(frozen=True)
class Regime:
    """A training budget for the ablation's rows.

    Attributes:
        name: "short" or "overfit".
        train: training-pool images (None: all), split 90/10.
        epochs: epochs per row.
        configs: the rows it trains by default.
        about: what the regime is, in a few words, for the verdict line.
    """

    name: str
    train: int | None
    epochs: int
    configs: tuple[str, ...]
    about: str


REGIMES = ("short", "overfit")
_ABOUT = {"short": "short budget", "overfit": "few images, many epochs"}


def get_regime(name: str, profile: str | Profile | None = None) -> Regime:
    """The regime ``name`` ('short' or 'overfit') within ``profile``'s budget.

    "short": ``ablation_train`` images, ``ablation_epochs`` epochs, every configuration.
    "overfit": ``overfit_train`` images, ``overfit_epochs`` epochs, baseline and
    augmentation only (the question the regime answers).

    Raises:
        ConfigError: for another name.
    """
    prof = profile if isinstance(profile, Profile) else get_profile(profile)
    if name == "short":
        return Regime("short", prof.ablation_train, prof.ablation_epochs, DEFAULT_CONFIGS,
                      _ABOUT["short"])
    if name == "overfit":
        return Regime("overfit", prof.overfit_train, prof.overfit_epochs,
                      ("baseline", "augmentation"), _ABOUT["overfit"])
    raise ConfigError(f"unknown ablation regime {name!r}; choose from {list(REGIMES)}")


def setup_of(prof: Profile, model: str, epochs: int, regime: Regime | None = None,
             patience: int | None = None) -> str:
    """One line saying what every row of the table was trained with (and in which regime;
    ``patience``: the early stopping the overfit regime's rows ran with)."""
    width = prof.ablation_width or prof.width
    train = prof.ablation_train if regime is None else regime.train
    images = f"{train:,}" if train else "all"
    bn = "" if prof.ablation_bn_momentum == 0.99 else f", batch-norm momentum {prof.ablation_bn_momentum}"
    where = "" if regime is None else f"{regime.name} regime ({regime.about}): "
    every = ""
    if regime is not None and regime.name == "overfit":
        every = (" (all run, the best kept)" if patience is None or patience >= epochs else
                 f" at most (early stopping patience {patience}, seed 003's; the best kept)")
    return (f"{where}{model} at width {width}{bn}, {images} training-pool images (90/10 split), "
            f"{epochs} epochs{every}, batch {min(128, prof.batch_size)}, seed 003's optimizer")


def run(data: Dataset, model: str | None = None, configs: list[str] | None = None,
        profile: str | Profile | None = None, seeds=None, out: str | Path | None = None,
        epochs: int | None = None, verbose: int = 0, seed: int | None = None,
        regime: str = "short", split_seed: int = 0) -> pd.DataFrame:
    """Train one model per configuration and random seed, and tabulate the results.

    Args:
        data: the dataset (its training pool is split 90/10 with split seed 0).
        model: a registered model name (default: ``profile.ablation_model``), built at
            ``profile.ablation_width`` (else the profile's width) with
            ``profile.ablation_bn_momentum``.
        configs: names from CONFIGS (default: the regime's; "short": seed 003's five in
            its order and flip doubling).
        profile: sets width and data budget; epochs and training images come from the
            regime (``get_regime``), seeds from ``range(profile.ablation_seeds)``.
        seeds: random seeds for weights, shuffling and augmentation (``seed=s`` for one).
        out: folder for ``ablation.csv`` and one run folder per configuration and seed
            (default: FER_KIT_RUNS/ablation-<model>-<profile>, plus "-overfit" for that
            regime).
        epochs: epochs per run (overrides the regime's).
        regime: "short" (the default) or "overfit" (``REGIMES``).
        split_seed: the seed of the 90/10 split every row shares (recorded in the setup
            line when not 0).

    Returns:
        DataFrame with COLUMNS, one row per (configuration, seed), figures of the model
        ``train.fit`` returns (its best epoch by validation loss); public/private are
        NaN without labels. ``table.attrs["setup"]`` says how the rows were trained.
    """
    prof = profile if isinstance(profile, Profile) else get_profile(profile)
    reg = get_regime(regime, prof)
    names = list(reg.configs) if configs is None else list(configs)
    unknown = [n for n in names if n not in CONFIGS]
    if unknown:
        raise ConfigError(f"unknown ablation config(s) {unknown}; choose from {list(CONFIGS)}")
    if seeds is None:
        seeds = [seed] if seed is not None else list(range(prof.ablation_seeds))
    seeds = [int(s) for s in np.atleast_1d(seeds)]
    model = model or prof.ablation_model
    n_epochs = epochs or reg.epochs
    width = prof.ablation_width or prof.width
    if reg.train is not None:
        prof = replace(prof, max_train=min(reg.train, prof.max_train or np.inf))
    prof = replace(prof, epochs=max(prof.epochs, n_epochs))  # the recipe is capped by the profile
    patience = None
    if reg.name == "overfit":  # seed 003's own patience, not the profile's shorter one, which
        # cut the slower-learning augmented rows off; the best epoch is kept
        patience = min(train.get_recipe("keras_vgg").patience, n_epochs)
        prof = replace(prof, patience=max(prof.patience, patience))
    setup = setup_of(prof, model, n_epochs, reg if reg.name != "short" else None, patience)
    if split_seed:
        setup += f", split seed {split_seed}"
    suffix = "" if reg.name == "short" else f"-{reg.name}"
    out = Path(out) if out else runs_dir() / f"ablation-{model}-{prof.name}{suffix}"
    out.mkdir(parents=True, exist_ok=True)
    table_path = out / "ablation.csv"
    key = data_key(data)
    rows = _done_rows(table_path, setup, key)

    todo = [(n, s) for s in seeds for n in names if (n, s) not in rows]
    # Each row is a new model trained briefly: on a CPU under TensorFlow, XLA's compile time
    # outweighs what it saves (fer_kit.backend.jit_pays_off)
    jit = "auto" if backend.jit_pays_off() else False
    clean = None  # the pool without its detected outliers, for the rows that ask for it
    for name, s in tqdm(todo, desc="ablation", unit="run", disable=not todo):
        options = dict(CONFIGS[name])
        pool = data.train
        if options.pop("drop_outliers", False):
            clean = clean if clean is not None else without_outliers(train.capped_pool(pool, prof))
            pool = clean
        seed_everything(s)  # the row's initial weights from its seed, not from the rows
        # built before it: a row trained alone (a resumed table) starts as in a full run
        net = models.build(model, width=width, bn_momentum=prof.ablation_bn_momentum)
        res = train.fit(pool, net, "keras_vgg", profile=prof,
                        run_dir=out / f"{name}-rng{s}", seed=s, split_seed=split_seed,
                        checkpoints=False,
                        verbose=verbose, data_name=data.name, epochs=n_epochs, jit_compile=jit,
                        **options)
        val_loss, val_acc = res.model.evaluate(res.val.x, res.val.y, batch_size=256, verbose=0,
                                               return_dict=False)[:2]
        sc = evaluate.scores(res.model, data)
        rows[(name, s)] = {"config": name, "seed": s, "val_acc": float(val_acc),
                           "val_loss": float(val_loss), "public": sc.get("public", np.nan),
                           "private": sc.get("private", np.nan), "epochs": len(res.history),
                           "seconds": round(res.seconds, 1), "run_dir": str(res.run_dir),
                           "regime": reg.name, "setup": setup, "data": key}
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
    if "regime" not in old:  # written before regimes: the short budget's setup line
        old = old.assign(regime="short")
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
        text: the reading, one line per comparison; the first names the regime when the
            table records one.
        against_baseline: for each configuration, one line: "better than", "worse than"
            or "not distinguishable from" the baseline, the difference, its margin, the
            metric and the regime (what a summary records).
    """

    winner: str | None
    text: str
    against_baseline: dict = field(default_factory=dict)


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
    where = regime_of(table)
    lines = [f"{where}, by {metric}:"] if where else []
    if len(order) < 2:
        return Verdict(best, "\n".join(lines + [f"{best}: {mean[best]:.3f} (only one configuration)"]))
    if n.min() < 2:
        lines.append(f"best by mean {metric}: {best} ({mean[best]:.3f}); one seed per "
                     "configuration, so no spread to judge a difference by: no winner.")
        return Verdict(None, "\n".join(lines))
    pct = f"{level:.0%}"
    second = order[1]
    lead = mean[best] - mean[second]
    noise = evaluate.welch_margin(se[best], se[second], n[best], n[second], level)
    winner = best if lead > noise else None
    if winner:
        lines.append(f"winner: {best} ({mean[best]:.3f}), ahead of {second} "
                     f"({mean[second]:.3f}) by {lead:.3f}, beyond the {pct} margin ({noise:.3f}).")
    else:
        lines.append(f"no difference this budget can resolve: {best} ({mean[best]:.3f}) leads "
                     f"{second} ({mean[second]:.3f}) by {lead:.3f}, within the {pct} margin "
                     f"({noise:.3f}).")
    against = {}
    if baseline in mean.index:
        for name in mean.index.drop(baseline):
            diff = mean[name] - mean[baseline]
            err = evaluate.welch_margin(se[name], se[baseline], n[name], n[baseline], level)
            word = ("better than" if diff > 0 else "worse than") if abs(diff) > err \
                else "not distinguishable from"
            lines.append(f"  {name:24s} {diff:+.3f} +/- {err:.3f}: {word} the baseline")
            beyond = "beyond" if abs(diff) > err else "within"
            against[name] = (f"{name} {word} the baseline: {diff:+.3f} {metric}, {beyond} the "
                             f"{pct} margin ({err:.3f}, {int(n[name])} and {int(n[baseline])} seeds)"
                             + (f"; {where}" if where else ""))
    return Verdict(winner, "\n".join(lines), against)


def regime_of(table: pd.DataFrame) -> str:
    """The regime a table's rows were trained in, in words ("" when it records none): its
    name and what it is, and the setup line when the table carries it."""
    t = pd.DataFrame(table)
    names = t["regime"].dropna().unique() if "regime" in t else []
    if len(names) != 1:
        return "" if len(names) == 0 else f"mixed regimes ({', '.join(map(str, names))})"
    name = str(names[0])
    about = _ABOUT.get(name, name)
    setup = getattr(table, "attrs", {}).get("setup", "")
    setup = setup.split("): ", 1)[-1] if setup.startswith(name) else setup
    return f"{name} regime ({about}" + (f"; {setup})" if setup else ")")


def without_outliers(pool: Split) -> Split:
    """``pool`` less the images ``fk.data.outliers.find_outliers`` flags (blank, non-face,
    duplicates)."""
    flagged = find_outliers(pool.x, pool.y)["index"].to_numpy(int)
    return pool.take(np.setdiff1d(np.arange(len(pool)), flagged))


def featurewise_outlier_shift(x: np.ndarray, y: np.ndarray | None = None, repeats: int = 5,
                              seed: int = 0) -> pd.DataFrame:
    """Seed 003's explanation for featurewise normalization, as numbers: how far the images
    ``fk.data.outliers`` flags move the per-pixel mean and standard deviation, beside how
    far as many images drawn at random move them.

    Seed 003 blamed featurewise's lower score on blank and non-face images distorting the
    per-pixel statistics. If that held, leaving out the flagged images would move the
    statistics far more than leaving out as many ordinary ones, and by enough to matter
    for the normalized faces.

    Args:
        x: the training images (N, 48, 48, 1) the normalizer is fitted on.
        y: their labels (for the duplicate detector), or None.
        repeats: random drops of the same size, for the reference row (median of them).
        seed: seeds the random drops.

    Returns:
        DataFrame with rows "outliers" and "random images" and columns: dropped (images
        left out), mean_shift (largest change of a pixel's mean, grey levels), std_change
        (largest relative change of a pixel's standard deviation), z_shift (mean absolute
        change of the normalized values of the remaining images, in standard deviations).
    """
    flagged = find_outliers(x, y)["index"].to_numpy(int)
    full = FeaturewiseNormalizer().fit(x)

    def shift(drop: np.ndarray) -> dict:
        keep = np.setdiff1d(np.arange(len(x)), drop)
        part = FeaturewiseNormalizer().fit(x[keep])
        sample = x[keep[:: max(1, len(keep) // 2000)]]  # (<= ~2,000, 48, 48, 1)
        z = np.abs(full.transform(sample) - part.transform(sample)).mean()
        return {"dropped": len(drop), "mean_shift": float(np.abs(full.mean_ - part.mean_).max()),
                "std_change": float(np.abs(full.std_ / np.maximum(part.std_, 1e-6) - 1).max()),
                "z_shift": float(z)}

    rng = np.random.default_rng(seed)
    drops = [rng.choice(len(x), len(flagged), replace=False) for _ in range(repeats)]
    random = pd.DataFrame([shift(d) for d in drops]).median()
    return pd.DataFrame([shift(flagged), random.to_dict()],
                        index=["outliers", "random images"]).astype({"dropped": int})


def read_results(paths) -> pd.DataFrame:
    """A table in this module's columns from benchmark CSVs (``benchmarks/full_recipe.py``:
    ``public_acc``/``private_acc``), to set a measured full-budget table beside the demo's."""
    frames = [pd.read_csv(p) for p in paths]
    t = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return t.rename(columns={"public_acc": "public", "private_acc": "private"})
