"""Seed 003's normalization/augmentation ablation (plus seed 000's flip doubling) as one call.

    table = fk.ablation.run(data)          # one fresh model per configuration
    table                                  # config, val_acc, val_loss, public, private, ...

Every configuration trains the same model from the same seed on the same
90/10 split; only the data handling changes. The table is written to
``ablation.csv`` (atomically) after each configuration, and a rerun with the
same ``out`` skips the configurations already in it, so an interrupted
ablation loses at most the configuration that was running.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from . import atomic, evaluate, train
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
COLUMNS = ["config", "val_acc", "val_loss", "public", "private", "epochs", "seconds", "run_dir"]


def run(data: Dataset, model: str = "vgg_selu", configs: list[str] | None = None,
        profile: str | Profile | None = None, seed: int = 0, out: str | Path | None = None,
        epochs: int | None = None, verbose: int = 0) -> pd.DataFrame:
    """Train one model per configuration and tabulate the results.

    Args:
        data: the dataset (its training pool is split 90/10 with ``seed``).
        model: a registered model name.
        configs: names from CONFIGS (default: all, in seed 003's order).
        profile: sets width and data budget; epochs default to ``profile.ablation_epochs``,
            training images to ``profile.ablation_train``.
        out: folder for ``ablation.csv`` and one run folder per configuration
            (default: FER_KIT_RUNS/ablation-<model>-<profile>-seed<seed>).
        epochs: epochs per configuration (overrides the profile).

    Returns:
        DataFrame with COLUMNS, one row per configuration: figures of the model
        ``train.fit`` returns (seed 003's early stopping restores its best epoch
        when it stops early); public/private are NaN without labels.
    """
    prof = profile if isinstance(profile, Profile) else get_profile(profile)
    names = list(CONFIGS) if configs is None else list(configs)
    unknown = [n for n in names if n not in CONFIGS]
    if unknown:
        raise ConfigError(f"unknown ablation config(s) {unknown}; choose from {list(CONFIGS)}")
    n_epochs = epochs or prof.ablation_epochs
    if prof.ablation_train is not None:
        prof = replace(prof, max_train=min(prof.ablation_train, prof.max_train or np.inf))
    out = Path(out) if out else runs_dir() / f"ablation-{model}-{prof.name}-seed{seed}"
    out.mkdir(parents=True, exist_ok=True)
    table_path = out / "ablation.csv"
    rows = _done_rows(table_path, n_epochs)

    todo = [n for n in names if n not in rows]
    for name in tqdm(todo, desc="ablation", unit="config", disable=not todo):
        res = train.fit(data.train, model, "seed003", profile=prof, run_dir=out / name,
                        seed=seed, verbose=verbose, data_name=data.name, epochs=n_epochs,
                        **CONFIGS[name])
        val_loss, val_acc = res.model.evaluate(
            _val_ds(res), verbose=0, return_dict=False)[:2]
        sc = evaluate.scores(res.model, data, res.normalizer)
        rows[name] = {"config": name, "val_acc": float(val_acc), "val_loss": float(val_loss),
                      "public": sc.get("public", np.nan), "private": sc.get("private", np.nan),
                      "epochs": len(res.history), "seconds": round(res.seconds, 1),
                      "run_dir": str(res.run_dir), "_epochs_asked": n_epochs}
        atomic.write_text(table_path, pd.DataFrame(rows.values()).to_csv(index=False))
    table = pd.DataFrame([rows[n] for n in names])
    return table[COLUMNS].reset_index(drop=True)


def _val_ds(res: train.TrainResult):
    from . import pipeline
    return pipeline.make_dataset(res.val.x, res.val.y, normalizer=res.normalizer, batch_size=256)


def _done_rows(path: Path, n_epochs: int) -> dict[str, dict]:
    """Rows of an earlier, interrupted run of the same ablation (same epochs)."""
    if not path.is_file():
        return {}
    old = pd.read_csv(path)
    old = old[old["_epochs_asked"] == n_epochs]
    return {r["config"]: r for r in old.to_dict("records")}


def winner(table: pd.DataFrame, metric: str = "val_acc") -> str:
    """The configuration with the best ``metric``."""
    return str(table.loc[table[metric].idxmax(), "config"])
