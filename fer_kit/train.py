"""Training: the seeds' recipes, run directories, resumable runs, distribution strategies.

``fit`` is four steps, each a function (see its docstring): prepare the data (split,
flip doubling, normalizer fit), build the model with the rescale and normalizer as its
first layers, compile, fit into a run folder. Training reads NumPy arrays on every Keras
backend; the augmentation is a layer in front of the model, active in training only.

A run directory holds everything a run made::

    runs/<time>-<model>-<recipe>/
        config.json      what was run (recipe, profile, model, seed, data, backend)
        split.npz        the validation images' positions and ids in the training pool
        history.csv      one row per finished epoch, rewritten atomically each epoch
        best.keras       best checkpoint so far (lowest val_loss)
        model.keras      the final model (best weights restored): pixels in, probabilities out
        backup/          Keras BackupAndRestore state while the run is unfinished

Run the same call again with the same ``run_dir`` after a crash and training
resumes from the last finished epoch; each epoch appears once in history.csv.
"""
from __future__ import annotations

import contextlib
import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from . import atomic, models
from .augment import AugmentConfig
from .config import Profile, get_profile, runs_dir, seed_everything
from .data.io import Split
from .data.split import flip_double, split_indices
from .preprocess import load_normalizer, make_normalizer, preprocessing_layers


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
    # Seed 003 (a Keras homework report): Nadam(0.002), batch 128, up to 200 epochs,
    # EarlyStopping(val_loss, 30), ImageDataGenerator augmentation.
    "keras_vgg": Recipe("keras_vgg", augment=AugmentConfig.seed003()),
    # Seed 000 (a PyTorch homework report): batch 128, 40 epochs, flip doubling (its
    # optimizer is not stated: Adam).
    "torch_cnn": Recipe("torch_cnn", optimizer="adam", learning_rate=1e-3, epochs=40,
                        patience=None, flip_double=True),
}
# The names of the first releases, which read like random seeds; they still work.
ALIASES = {"seed003": "keras_vgg", "seed000": "torch_cnn"}


def get_recipe(recipe: "str | Recipe") -> Recipe:
    """A Recipe by name ('keras_vgg', 'torch_cnn', or an old alias), or the Recipe itself."""
    if isinstance(recipe, Recipe):
        return recipe
    name = ALIASES.get(recipe, recipe)
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {recipe!r}; known recipes: {', '.join(RECIPES)} "
                         f"(old names: {', '.join(ALIASES)})")
    return RECIPES[name]


@dataclass
class TrainResult:
    """What ``fit`` returns (and ``load_run``/``get_run``): a model that takes pixels.

    Attributes:
        model: uint8 (or float 0-255) images (N, 48, 48, 1) -> class probabilities; the
            rescale and the fitted normalization are its first layers.
        history: one row per epoch (history.csv).
        run_dir: the run folder.
        val: the validation images (from the run's saved split), or None when unknown.
        seconds: training time.
        config: config.json's contents.
    """

    model: keras.Model
    history: pd.DataFrame
    run_dir: Path
    val: Split | None
    seconds: float
    config: dict = field(default_factory=dict)


@dataclass
class Prepared:
    """Step 1 of ``fit``: the data a run trains on, and the normalizer fitted to it.

    Attributes:
        recipe: the recipe, scaled to the profile.
        pool: the training pool the split was drawn from (capped by the profile).
        train: training images (with their mirror twins appended if the recipe doubles).
        val: validation images (never doubled, never augmented).
        val_index: positions of ``val`` in ``pool`` (saved as split.npz in the run folder).
        normalizer: the rescale and standardization, fitted on ``train`` (None: raw pixels).
        split_seed: the seed of the stratified split.
    """

    recipe: Recipe
    pool: Split
    train: Split
    val: Split
    val_index: np.ndarray
    normalizer: object
    split_seed: int

    def preprocessing(self) -> list:
        """The normalizer as Keras layers (rescale, then any standardization)."""
        return preprocessing_layers(self.normalizer)


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
    """Save the model with the lowest ``monitor`` so far, atomically, at most every ``every``
    seconds: on a GPU an epoch can take a second, and writing 6.4M parameters every epoch
    would cost more than the epoch. A better epoch that comes too soon is kept in memory
    and written at the next chance or when training ends."""

    def __init__(self, path: Path, monitor: str = "val_loss", save: keras.Model | None = None,
                 every: float = 10.0):
        super().__init__()
        self.path, self.monitor, self.best = Path(path), monitor, np.inf
        self.save = save  # the inference model (the trained one may wrap it in augmentation)
        self.every, self._last, self._pending = every, -np.inf, None

    def _write(self, weights=None):
        model = self.save or self.model
        current = model.get_weights() if weights is not None else None
        if weights is not None:
            model.set_weights(weights)
        with atomic.atomic_path(self.path, suffix=".keras") as tmp:
            model.save(tmp)
        if current is not None:
            model.set_weights(current)
        self._last, self._pending = time.monotonic(), None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is not None and value < self.best:
            self.best = value
            if time.monotonic() - self._last >= self.every:
                self._write()
            else:
                self._pending = (self.save or self.model).get_weights()
        elif self._pending is not None and time.monotonic() - self._last >= self.every:
            self._write(self._pending)

    def on_train_end(self, logs=None):
        if self._pending is not None:
            self._write(self._pending)


class Backup(keras.callbacks.BackupAndRestore):
    """Keras's BackupAndRestore, writing at the end of an epoch only when ``every`` seconds
    have passed since its last write (a resumed run repeats at most those epochs; history.csv
    drops their rows)."""

    def __init__(self, backup_dir: str, every: float = 10.0):
        super().__init__(backup_dir)
        self.every, self._last = every, -np.inf

    def on_epoch_end(self, epoch, logs=None):
        if time.monotonic() - self._last >= self.every:
            super().on_epoch_end(epoch, logs)
            self._last = time.monotonic()


def compile_model(model: keras.Model, recipe: "str | Recipe", jit_compile="auto",
                  steps_per_execution: int | None = None) -> keras.Model:
    """Step 3 of ``fit``: the recipe's optimizer, sparse cross-entropy and accuracy.

    ``steps_per_execution`` (default: 1 on a CPU, 16 on an accelerator) runs that many
    batches per call from Python, so a GPU does not wait for the host between steps.
    """
    rec = get_recipe(recipe)
    opt = keras.optimizers.get({"class_name": rec.optimizer,
                                "config": {"learning_rate": rec.learning_rate}})
    if steps_per_execution is None:  # PyTorch's trainer runs one step per call
        steps_per_execution = 16 if accelerator() and keras.backend.backend() != "torch" else 1
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  jit_compile=jit_compile, steps_per_execution=steps_per_execution)
    return model


def new_run_dir(model_name: str, recipe_name: str) -> Path:
    """A fresh, time-stamped run directory under FER_KIT_RUNS."""
    return runs_dir() / f"{time.strftime('%Y%m%d-%H%M%S')}-{model_name}-{recipe_name}"


RUN_FORMAT = 2  # 2: the model takes pixels (normalizer inside) and split.npz holds the split


def latest_run(model_name: str | None = None, **match) -> Path | None:
    """The newest finished run directory (with model.keras), optionally for one model
    and with config.json entries equal to ``match`` (e.g. profile='demo')."""
    root = runs_dir()
    runs = sorted(p.parent for p in root.glob("*/model.keras")) if root.is_dir() else []
    match = {"format": RUN_FORMAT, **({"model": model_name} if model_name else {}), **match}
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


def _profile(profile) -> Profile:
    return profile if isinstance(profile, Profile) else get_profile(profile)


def prepare_data(pool: Split, recipe: "str | Recipe" = "keras_vgg", profile=None,
                 split_seed: int = 0, **recipe_overrides) -> Prepared:
    """Step 1 of ``fit``: cap the pool, split it, double it, fit the normalizer.

    The split is stratified (``val_fraction`` of the pool, seeded by ``split_seed``); only
    the training part is mirrored (``flip_double``), and the normalizer is fitted on it
    alone. ``fit_model`` saves the validation positions, so a loaded run knows its split.
    """
    prof = _profile(profile)
    rec = replace(get_recipe(recipe), **recipe_overrides).scaled(prof)
    pool = capped_pool(pool, prof)
    if pool.y is None:
        raise ValueError("cannot train on unlabeled data (the pool's y is None)")
    tr_idx, val_idx = split_indices(pool.y, rec.val_fraction, split_seed)
    tr, val = pool.take(tr_idx), pool.take(val_idx)
    if rec.flip_double:
        tr = flip_double(tr)
    norm = make_normalizer(rec.normalization, rec.rescale)
    if norm is not None:
        norm.fit(tr.x)
    return Prepared(rec, pool, tr, val, val_idx, norm, split_seed)


def build_model(model: "str | keras.Model", prepared: Prepared | None = None, profile=None,
                **builder_kwargs) -> keras.Model:
    """Step 2 of ``fit``: the network with the prepared rescale and normalization in front.

    The model takes pixels (uint8 or float, 0-255) and returns class probabilities, so a
    saved ``model.keras`` needs nothing beside it. ``model`` is a registered name (built at
    the profile's width; ``builder_kwargs`` go to its builder) or a Keras model.
    """
    prof = _profile(profile)
    layers = prepared.preprocessing() if prepared is not None else []
    if isinstance(model, str):
        builder_kwargs.setdefault("width", prof.width)
        return models.build(model, preprocessing=layers, **builder_kwargs)
    return models.with_preprocessing(model, layers)


def training_model(model: keras.Model, augment: AugmentConfig | None, seed: int = 0
                   ) -> keras.Model:
    """``model`` behind the recipe's random augmentation (active in training only).

    The augmentation layer is not part of ``model``: what is saved and returned is the
    inference model, loadable without fer_kit. Both share every weight.
    """
    if augment is None or augment.is_identity:
        return model
    pixels = keras.Input(model.input_shape[1:], name="pixels")
    return keras.Model(pixels, model(augment.to_layer(seed=seed)(pixels)),
                       name=f"{model.name}_augmented")


def accelerator() -> str | None:
    """'gpu' or 'tpu' when the Keras backend has one, else None (CPU only)."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax
        kinds = {d.platform for d in jax.devices()}
    elif backend == "tensorflow":
        import tensorflow as tf
        kinds = {d.device_type.lower() for d in tf.config.list_logical_devices()}
    elif backend == "torch":
        import torch
        kinds = {"gpu"} if torch.cuda.is_available() else set()
    else:
        kinds = set()
    return next((k for k in ("gpu", "tpu") if k in kinds), None)


def precision_policy(mixed_precision: "bool | str") -> str | None:
    """The dtype policy a run uses: None (float32) or 'mixed_bfloat16'/'mixed_float16'.

    'auto' (and True) picks mixed_bfloat16 on an accelerator and float32 on a CPU. bfloat16
    has float32's exponent range: float16 once turned an augmentation run's loss to NaN at
    epoch 55 on an H100 (README), bfloat16 did not.
    """
    if mixed_precision in (False, None, "float32"):
        return None
    if mixed_precision in (True, "auto"):
        return "mixed_bfloat16" if accelerator() else None
    name = str(mixed_precision)
    name = name if name.startswith("mixed_") else f"mixed_{name}"
    if name not in ("mixed_bfloat16", "mixed_float16"):
        raise ValueError(f"mixed_precision must be False, 'auto', 'bfloat16' or 'float16', "
                         f"got {mixed_precision!r}")
    return name


@contextlib.contextmanager
def policy_scope(name: str | None):
    """Build models under Keras dtype policy ``name`` (None: leave the global policy)."""
    if name is None:
        yield
        return
    old = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(old)


def fit_model(model: keras.Model, prepared: Prepared, run_dir: str | Path | None = None,
              seed: int = 0, verbose: int = 1, data_name: str = "", profile=None,
              checkpoints: bool = True, strategy=None, jit_compile="auto",
              policy: str | None = None, callbacks=(), width: float | None = None
              ) -> TrainResult:
    """Step 4 of ``fit``: train a compiled (or not yet compiled) model into a run folder.

    ``width`` is recorded in config.json (None: a model built elsewhere, width unknown).

    Writes config.json, split.npz (validation positions in the pool), history.csv every
    epoch, best.keras, model.keras; resumes an unfinished run in the same ``run_dir``.
    """
    prof = _profile(profile)
    rec = prepared.recipe
    run_dir = Path(run_dir) if run_dir else new_run_dir(model.name, rec.name)
    run_dir.mkdir(parents=True, exist_ok=True)
    with policy_scope(policy), _scope(strategy):  # the policy sets mixed_float16's loss scaling
        if model.optimizer is None:
            compile_model(model, rec, jit_compile)
        net = training_model(model, rec.augment, seed)
        if net is not model:  # one optimizer for both: model.keras saves its trained state
            net.compile(optimizer=model.optimizer, loss=model.loss, metrics=["accuracy"],
                        jit_compile=jit_compile,
                        steps_per_execution=model.steps_per_execution)
    config = {"format": RUN_FORMAT, "model": model.name, "recipe_name": rec.name,
              "recipe": _jsonable(asdict(rec)), "profile": prof.name, "width": width,
              "seed": seed, "split_seed": prepared.split_seed, "data": data_name,
              "backend": keras.backend.backend(), "policy": policy or "float32",
              "train_images": len(prepared.train), "val_images": len(prepared.val),
              "pool_images": len(prepared.pool), "params": int(model.count_params())}
    atomic.write_text(run_dir / "config.json", json.dumps(config, indent=2))
    with atomic.atomic_path(run_dir / "split.npz", suffix=".npz") as tmp:
        np.savez(tmp, val_index=prepared.val_index, val_ids=prepared.val.ids)

    extra_callbacks = callbacks
    callbacks = [HistoryCSV(run_dir / "history.csv"),
                 keras.callbacks.TerminateOnNaN()]  # a diverged run stops; best.keras stays
    if checkpoints:
        every = 10.0 if accelerator() else 0.0  # a CPU epoch takes longer than a write
        callbacks[:0] = [Backup(str(run_dir / "backup"), every=every),
                         BestCheckpoint(run_dir / "best.keras", save=model, every=every)]
    if rec.patience is not None:
        callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=rec.patience,
                                                       restore_best_weights=True))
    callbacks += list(extra_callbacks)
    t0 = time.perf_counter()
    with _scope(strategy):
        net.fit(prepared.train.x, prepared.train.y, batch_size=rec.batch_size, epochs=rec.epochs,
                validation_data=(prepared.val.x, prepared.val.y), validation_batch_size=256,
                callbacks=callbacks, verbose=verbose, shuffle=True)
    seconds = time.perf_counter() - t0
    config["seconds"] = round(seconds, 1)
    atomic.write_text(run_dir / "config.json", json.dumps(config, indent=2))
    with atomic.atomic_path(run_dir / "model.keras", suffix=".keras") as tmp:
        model.save(tmp)
    history = pd.read_csv(run_dir / "history.csv")
    return TrainResult(model, history, run_dir, prepared.val, seconds, config)


def fit(train: Split, model: "str | keras.Model" = "vgg_selu",
        recipe: "str | Recipe" = "keras_vgg", profile: str | Profile | None = None,
        run_dir: str | Path | None = None, seed: int = 0, strategy=None,
        mixed_precision: "bool | str" = "auto", jit_compile="auto", verbose: int = 1,
        data_name: str = "", split_seed: int | None = None, checkpoints: bool = True,
        callbacks=(), **recipe_overrides) -> TrainResult:
    """Train a model on a labeled training pool with a recipe, scaled by the profile.

    The four steps, each callable on its own::

        prep = fk.train.prepare_data(pool, "keras_vgg", profile, split_seed=0)
        model = fk.train.build_model("vgg_selu", prep, profile)   # pixels -> probabilities
        fk.train.compile_model(model, prep.recipe)
        res = fk.train.fit_model(model, prep, seed=0)

    Args:
        train: the labeled training pool (split 90/10 here).
        model: a registered model name (built at the profile's width) or a Keras model.
        recipe: 'keras_vgg' (seed 003), 'torch_cnn' (seed 000) or a Recipe;
            ``recipe_overrides`` replace its fields.
        profile: the profile (default: FER_KIT_PROFILE).
        run_dir: where to write; an existing unfinished run there is resumed.
        seed: seeds the shuffling, the augmentation, the weights (and the split, unless
            ``split_seed`` is given: the ablation keeps one split across seeds).
        checkpoints: keep best.keras and the per-epoch backup that resumes a crashed run;
            the ablation's short runs skip them (a killed run is simply trained again).
        strategy: ``tf.distribute.MirroredStrategy()`` on TensorFlow or
            ``keras.distribution.DataParallel()`` on JAX, for several devices; default one.
        mixed_precision: 'auto' (bfloat16 on a GPU, float32 on a CPU), False, 'bfloat16'
            or 'float16'.
        jit_compile: XLA compilation, passed to ``model.compile``.
        callbacks: more Keras callbacks (TensorBoard, say), after the kit's own.

    Returns:
        TrainResult; ``result.model`` takes uint8 pixels.
    """
    prof = _profile(profile)
    seed_everything(seed)
    prep = prepare_data(train, recipe, prof, seed if split_seed is None else split_seed,
                        **recipe_overrides)
    policy = precision_policy(mixed_precision)
    with policy_scope(policy), _scope(strategy):
        net = build_model(model, prep, prof)
        compile_model(net, prep.recipe, jit_compile)
    return fit_model(net, prep, run_dir, seed=seed, verbose=verbose, data_name=data_name,
                     profile=prof, checkpoints=checkpoints, strategy=strategy,
                     jit_compile=jit_compile, policy=policy, callbacks=callbacks,
                     width=prof.width if isinstance(model, str) else None)


def _scope(strategy):
    """``strategy.scope()`` (tf.distribute or keras.distribution), or nothing."""
    return strategy.scope() if strategy is not None else contextlib.nullcontext()


def get_run(data, model: str = "vgg_selu", recipe: str = "keras_vgg",
            profile: str | Profile | None = None, seed: int = 0, verbose: int = 2,
            **overrides) -> TrainResult:
    """The latest finished run of ``model`` on this data and profile, or a new one.

    Notebooks that need a trained model call this, so each runs alone: after
    ``01_train_cnn`` it loads that run in a second; without one it trains.
    """
    prof = _profile(profile)
    rec = get_recipe(recipe)
    found = None if overrides else latest_run(model, profile=prof.name, data=data.name,
                                              seed=seed, recipe_name=rec.name)
    if found is None:
        return fit(data.train, model, rec, profile=prof, seed=seed, verbose=verbose,
                   data_name=data.name, **overrides)
    res = load_run(found, pool=capped_pool(data.train, prof))
    print(f"loaded {found}")
    return res


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, tuple):
        return list(obj)
    return obj


def load_run(run_dir: str | Path, pool: Split | None = None) -> TrainResult:
    """Load a finished run. The model loads in safe mode and takes pixels.

    Args:
        pool: the training pool the run was split from; with it, ``result.val`` holds the
            run's validation images (from split.npz, checked against their ids).
    """
    run_dir = Path(run_dir)
    if not (run_dir / "model.keras").is_file():
        raise FileNotFoundError(f"{run_dir}: no model.keras (unfinished or not a run folder)")
    model = keras.saving.load_model(run_dir / "model.keras", safe_mode=True)
    config = json.loads((run_dir / "config.json").read_text())
    norm_file = run_dir / "normalizer.npz"
    if config.get("format", 1) < 2 and norm_file.is_file():  # before the model took pixels
        model = models.with_preprocessing(model, preprocessing_layers(load_normalizer(norm_file)))
    val = None
    split_file = run_dir / "split.npz"
    if pool is not None and split_file.is_file():
        with np.load(split_file) as z:
            index, ids = z["val_index"], z["val_ids"]
        if index.max(initial=-1) >= len(pool) or not np.array_equal(pool.ids[index], ids):
            raise ValueError(f"{run_dir}: its saved validation split does not match this "
                             "training pool (another dataset or profile?)")
        val = pool.take(index)
    history_file = run_dir / "history.csv"
    history = pd.read_csv(history_file) if history_file.is_file() else pd.DataFrame()
    return TrainResult(model, history, run_dir, val, float(config.get("seconds", "nan")), config)
