"""Training: the seeds' recipes, run directories, resumable runs, distribution strategies.

A run directory holds everything a run made::

    runs/<time>-<model>-<recipe>/
        config.json      what was run (recipe, profile, model, seed, data)
        history.csv      one row per finished epoch, rewritten atomically each epoch
        best.keras       best checkpoint so far (lowest val_loss)
        model.keras      the final model (best weights restored)
        normalizer.npz   the fitted normalizer's statistics
        backup/          Keras BackupAndRestore state while the run is unfinished

Run the same call again with the same ``run_dir`` after a crash and training
resumes from the last finished epoch; each epoch appears once in history.csv.
"""
from __future__ import annotations

import contextlib
import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from . import atomic, models
from .augment import AugmentConfig
from .config import Profile, get_profile, runs_dir, seed_everything
from .data.io import Split
from .data.split import flip_double, train_val_split
from .preprocess import make_normalizer


@dataclass(frozen=True)
class Recipe:
    """How to train: optimizer, batch, epochs, early stopping, data handling.

    Attributes:
        name: recipe name.
        optimizer: a Keras optimizer name.
        learning_rate: its learning rate.
        batch_size: images per step.
        epochs: maximum epochs.
        patience: EarlyStopping patience on val_loss (None: no early stopping).
        val_fraction: share of the training pool held out for validation.
        flip_double: append mirrored training images (after the split).
        augment: random augmentation of training batches, or None.
        normalization: 'none', 'featurewise', 'samplewise' or 'samplewise+featurewise'.
        rescale: multiply pixels by this first (ImageDataGenerator's ``rescale``); 1/255
            puts them in [0, 1]. The seeds do not say; Keras homework code commonly does
            it, and raw 0-255 inputs train far slower at the demo width (README).
    """

    name: str
    optimizer: str = "nadam"
    learning_rate: float = 0.002
    batch_size: int = 128
    epochs: int = 200
    patience: int | None = 30
    val_fraction: float = 0.1
    flip_double: bool = False
    augment: AugmentConfig | None = None
    normalization: str = "none"
    rescale: float | None = 1 / 255

    def scaled(self, profile: Profile) -> "Recipe":
        """The recipe within the profile's budget (epochs, patience, batch size)."""
        return replace(self, epochs=min(self.epochs, profile.epochs),
                       patience=None if self.patience is None else min(self.patience,
                                                                       profile.patience),
                       batch_size=min(self.batch_size, profile.batch_size))


RECIPES = {
    # Seed 003: Nadam(0.002), batch 128, up to 200 epochs, EarlyStopping(val_loss, 30).
    "seed003": Recipe("seed003", augment=AugmentConfig.seed003()),
    # Seed 000: batch 128, 40 epochs, flip doubling (its optimizer is not stated: Adam).
    "seed000": Recipe("seed000", optimizer="adam", learning_rate=1e-3, epochs=40, patience=None,
                      flip_double=True),
}


@dataclass
class TrainResult:
    """What ``fit`` returns: the trained model and where everything was written."""

    model: keras.Model
    history: pd.DataFrame
    run_dir: Path
    normalizer: object
    val: Split
    seconds: float


class HistoryCSV(keras.callbacks.Callback):
    """history.csv with exactly one row per finished epoch, written atomically.

    On (re)start it drops rows of epochs that will run again, so a resumed run
    never logs an epoch twice.
    """

    def __init__(self, path: Path):
        super().__init__()
        self.path = Path(path)
        self.rows: list[dict] = []
        self._started = False

    def on_epoch_begin(self, epoch, logs=None):
        if not self._started:
            self._started = True
            if self.path.is_file():
                old = pd.read_csv(self.path)
                self.rows = old[old["epoch"] < epoch].to_dict("records")

    def on_epoch_end(self, epoch, logs=None):
        self.rows.append({"epoch": epoch, **{k: float(v) for k, v in (logs or {}).items()}})
        atomic.write_text(self.path, pd.DataFrame(self.rows).to_csv(index=False))


class BestCheckpoint(keras.callbacks.Callback):
    """Save the model with the lowest ``monitor`` so far, atomically."""

    def __init__(self, path: Path, monitor: str = "val_loss"):
        super().__init__()
        self.path, self.monitor, self.best = Path(path), monitor, np.inf

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is not None and value < self.best:
            self.best = value
            with atomic.atomic_path(self.path, suffix=".keras") as tmp:
                self.model.save(tmp)


def _compile(model: keras.Model, recipe: Recipe, jit_compile) -> None:
    opt = keras.optimizers.get({"class_name": recipe.optimizer,
                                "config": {"learning_rate": recipe.learning_rate}})
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  jit_compile=jit_compile)


def new_run_dir(model_name: str, recipe_name: str) -> Path:
    """A fresh, time-stamped run directory under FER_KIT_RUNS."""
    return runs_dir() / f"{time.strftime('%Y%m%d-%H%M%S')}-{model_name}-{recipe_name}"


def latest_run(model_name: str | None = None, **match) -> Path | None:
    """The newest finished run directory (with model.keras), optionally for one model
    and with config.json entries equal to ``match`` (e.g. profile='demo')."""
    root = runs_dir()
    runs = sorted(p.parent for p in root.glob("*/model.keras")) if root.is_dir() else []
    if model_name:
        match = {"model": model_name, **match}
    runs = [r for r in runs if _config_matches(r, match)]
    return runs[-1] if runs else None


def _config_matches(run_dir: Path, match: dict) -> bool:
    try:
        config = json.loads((run_dir / "config.json").read_text())
    except (OSError, ValueError):
        return False
    return all(config.get(k) == v for k, v in match.items())


def capped_pool(pool: Split, prof: Profile) -> Split:
    """The first ``prof.max_train`` images of the training pool (all if no cap)."""
    if prof.max_train is not None and len(pool) > prof.max_train:
        return pool.take(np.arange(prof.max_train))
    return pool


def get_run(data, model: str = "vgg_selu", recipe: str = "seed003",
            profile: str | Profile | None = None, seed: int = 0, verbose: int = 2,
            **overrides) -> TrainResult:
    """The latest finished run of ``model`` on this data and profile, or a new one.

    Notebooks that need a trained model call this, so each runs alone: after
    ``01_train_cnn`` it loads that run in a second; without one it trains.
    """
    prof = profile if isinstance(profile, Profile) else get_profile(profile)
    found = None if overrides else latest_run(model, profile=prof.name, data=data.name,
                                              seed=seed, recipe_name=recipe)
    if found is None:
        return fit(data.train, model, recipe, profile=prof, seed=seed, verbose=verbose,
                   data_name=data.name, **overrides)
    net, norm, config = load_run(found)
    _, val = train_val_split(capped_pool(data.train, prof), config["recipe"]["val_fraction"],
                             seed=config.get("split_seed", seed))
    print(f"loaded {found}")
    return TrainResult(net, pd.read_csv(found / "history.csv"), found, norm, val,
                       float(config.get("seconds", float("nan"))))


def fit(train: Split, model: str | keras.Model = "vgg_selu", recipe: str | Recipe = "seed003",
        profile: str | Profile | None = None, run_dir: str | Path | None = None, seed: int = 0,
        strategy=None, mixed_precision: bool = False, jit_compile="auto", verbose: int = 1,
        data_name: str = "", split_seed: int | None = None, checkpoints: bool = True,
        **recipe_overrides) -> TrainResult:
    """Train a model on a labeled training pool with a recipe, scaled by the profile.

    Args:
        train: the labeled training pool (split 90/10 here, with ``seed``).
        model: a registered model name (built at the profile's width) or a Keras model.
        recipe: 'seed003', 'seed000' or a Recipe; ``recipe_overrides`` replace its fields.
        profile: the profile (default: FER_KIT_PROFILE).
        run_dir: where to write; an existing unfinished run there is resumed.
        seed: seeds the split, the shuffling, the augmentation and the weights.
        split_seed: seeds the split instead (the ablation keeps one split across seeds).
        checkpoints: keep best.keras and the per-epoch backup that resumes a crashed run;
            the ablation's short runs skip them (a killed run is simply trained again).
        strategy: a ``tf.distribute`` strategy (MirroredStrategy for several GPUs,
            MultiWorkerMirroredStrategy for several machines); default: one device.
        mixed_precision: use mixed_float16 (GPUs).
        jit_compile: XLA compilation, passed to ``model.compile``.

    Returns:
        TrainResult.
    """
    from . import pipeline  # tf.data; imported here so the recipes load without TensorFlow
    prof = profile if isinstance(profile, Profile) else get_profile(profile)
    rec = RECIPES[recipe] if isinstance(recipe, str) else recipe
    rec = replace(rec, **recipe_overrides).scaled(prof)
    seed_everything(seed)
    split_seed = seed if split_seed is None else split_seed
    tr, val = train_val_split(capped_pool(train, prof), rec.val_fraction, seed=split_seed)
    if rec.flip_double:
        tr = flip_double(tr)
    norm = make_normalizer(rec.normalization, rec.rescale)
    if norm is not None:
        norm.fit(tr.x)
    ds_train = pipeline.make_dataset(tr.x, tr.y, normalizer=norm, augment=rec.augment,
                                     batch_size=rec.batch_size, shuffle=True, seed=seed)
    ds_val = pipeline.make_dataset(val.x, val.y, normalizer=norm, batch_size=256)

    model_name = model if isinstance(model, str) else model.name
    run_dir = Path(run_dir) if run_dir else new_run_dir(model_name, rec.name)
    run_dir.mkdir(parents=True, exist_ok=True)
    if mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
    scope = strategy.scope() if strategy is not None else contextlib.nullcontext()
    try:
        with scope:
            net = models.build(model, width=prof.width) if isinstance(model, str) else model
            _compile(net, rec, jit_compile)
    finally:
        if mixed_precision:
            keras.mixed_precision.set_global_policy("float32")
    config = {"model": model_name, "recipe_name": rec.name, "recipe": _jsonable(asdict(rec)),
              "profile": prof.name,
              "width": prof.width if isinstance(model, str) else None, "seed": seed, "split_seed": split_seed, "data": data_name,
              "train_images": len(tr),
              "val_images": len(val), "params": int(net.count_params())}
    atomic.write_text(run_dir / "config.json", json.dumps(config, indent=2))
    if norm is not None and hasattr(norm, "save"):
        norm.save(run_dir / "normalizer.npz")

    callbacks = [HistoryCSV(run_dir / "history.csv"),
                 keras.callbacks.TerminateOnNaN()]  # a diverged run stops; best.keras stays
    if checkpoints:
        callbacks[:0] = [keras.callbacks.BackupAndRestore(str(run_dir / "backup")),
                         BestCheckpoint(run_dir / "best.keras")]
    if rec.patience is not None:
        callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=rec.patience,
                                                       restore_best_weights=True))
    t0 = time.perf_counter()
    net.fit(ds_train, validation_data=ds_val, epochs=rec.epochs, callbacks=callbacks,
            verbose=verbose, shuffle=False)  # the dataset shuffles itself, seeded
    seconds = time.perf_counter() - t0
    config["seconds"] = round(seconds, 1)
    atomic.write_text(run_dir / "config.json", json.dumps(config, indent=2))
    with atomic.atomic_path(run_dir / "model.keras", suffix=".keras") as tmp:
        net.save(tmp)
    history = pd.read_csv(run_dir / "history.csv")
    return TrainResult(net, history, run_dir, norm, val, seconds)


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, tuple):
        return list(obj)
    return obj


def load_run(run_dir: str | Path):
    """Load a finished run: (model, normalizer or None, config dict). Models load in safe mode."""
    from .preprocess import load_normalizer
    run_dir = Path(run_dir)
    model = keras.saving.load_model(run_dir / "model.keras", safe_mode=True)
    config = json.loads((run_dir / "config.json").read_text())
    norm_file = run_dir / "normalizer.npz"
    return model, (load_normalizer(norm_file) if norm_file.is_file() else None), config
