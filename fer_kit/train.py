"""Training: the seeds' recipes, run directories, resumable runs, distribution strategies.

``fit`` is four steps, each a function (see its docstring): prepare the data (split,
flip doubling, normalizer fit), build the model with the rescale and normalizer as its
first layers, compile, fit into a run folder. Training reads NumPy arrays on every Keras
backend; the augmentation is a layer in front of the model, active in training only.

A run directory (``fer_kit.runs``) holds everything a run made::

    runs/<time>-<model>-<recipe>-seed<seed>/
        config.json      what was run (recipe values, profile, width, seed, split, pool hash,
                         data, backend), which epoch model.keras holds, and why it stopped
        split.npz        the validation images' positions and ids, with their provenance
        history.csv      one row per finished epoch, rewritten atomically each epoch
        best.keras       best finite epoch so far (lowest val_loss); best.json names it
        model.keras      the final model: pixels in, probabilities out; never NaN weights
        backup/          weights and optimizer after the last epoch, while unfinished

Run the same call again with the same ``run_dir`` after a crash and training resumes
from the last finished epoch, drawing what the uninterrupted run would have drawn
(``fer_kit.callbacks``); each epoch appears once in history.csv. A run whose loss turns
NaN or whose validation loss diverges stops, and model.keras is its best finite epoch.
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

from . import atomic, backend, models
from .augment import AugmentConfig
from .backend import accelerator
from .callbacks import (Backup, BestKeeper, EpochBatches, EpochSeeds, Guard, HistoryCSV,
                        Patience)
from .config import Profile, apply_threads, get_profile, seed_everything
from .data.io import Split
from .data.split import flip_double, split_indices
from .preprocess import make_normalizer, preprocessing_layers
from .runs import (RUN_FORMAT, RunError, TrainResult, claim_run_dir, find_runs, jsonable,
                   latest_run, load_run, pool_hash, write_split)

__all__ = ["RECIPES", "RUN_FORMAT", "HistoryCSV", "Prepared", "Recipe", "RunError",
           "TrainResult", "TrainingDiverged", "accelerator", "build_model", "capped_pool",
           "compile_model", "find_runs", "fit", "fit_model", "get_recipe", "get_run",
           "latest_run", "load_run", "new_run_dir", "precision_policy", "prepare_data",
           "training_model"]


class TrainingDiverged(RuntimeError):
    """A run whose loss turned NaN (or diverged) before any epoch finished with finite weights."""


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
        pool_hash: ``fer_kit.runs.pool_hash(pool)``, recorded with the split.
    """

    recipe: Recipe
    pool: Split
    train: Split
    val: Split
    val_index: np.ndarray
    normalizer: object
    split_seed: int
    pool_hash: str = ""

    def preprocessing(self) -> list:
        """The normalizer as Keras layers (rescale, then any standardization)."""
        return preprocessing_layers(self.normalizer)


def compile_model(model: keras.Model, recipe: "str | Recipe", jit_compile="auto",
                  steps_per_execution: int | None = None) -> keras.Model:
    """Step 3 of ``fit``: the recipe's optimizer, sparse cross-entropy and accuracy.

    ``steps_per_execution`` (default: 1 on a CPU, 16 on an accelerator) runs that many
    batches per call from Python, so a GPU does not wait for the host between steps.
    """
    rec = get_recipe(recipe)
    opt = keras.optimizers.get({"class_name": rec.optimizer,
                                "config": {"learning_rate": rec.learning_rate}})
    if steps_per_execution is None:  # 16 on a GPU or TPU, 1 on a CPU or PyTorch
        steps_per_execution = backend.steps_per_execution()
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  jit_compile=jit_compile, steps_per_execution=steps_per_execution)
    return model


def new_run_dir(model_name: str, recipe_name: str, seed: int | None = None) -> Path:
    """A fresh run directory under FER_KIT_RUNS, claimed atomically (``runs.claim_run_dir``)."""
    return claim_run_dir(model_name, recipe_name, seed)


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

    The split is stratified (``val_fraction`` of the pool, seeded by ``split_seed``:
    ``fer_kit.data.split.split_indices``); only the training part is mirrored
    (``flip_double``), and the normalizer is fitted on it alone. ``fit_model`` saves the
    validation positions with the split seed and a hash of the pool, so a loaded run
    knows its split and refuses another.
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
    return Prepared(rec, pool, tr, val, val_idx, norm, split_seed, pool_hash(pool))


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


def run_key(model_name: str, recipe: Recipe, profile: Profile, width: float | None,
            seed: int, split_seed: int, pool: str) -> dict:
    """The config.json entries that decide what a run's model is: ``get_run`` serves a run
    only if all are equal (recipe values after overrides and the profile's scaling, not
    only the recipe's name; ``pool`` is ``pool_hash`` of the capped training pool)."""
    return {"model": model_name, "recipe": jsonable(asdict(recipe)), "profile": profile.name,
            "width": width, "seed": seed, "split_seed": split_seed, "pool_hash": pool}


def fit_model(model: keras.Model, prepared: Prepared, run_dir: str | Path | None = None,
              seed: int = 0, verbose: int = 1, data_name: str = "", profile=None,
              checkpoints: bool = True, strategy=None, jit_compile="auto",
              policy: str | None = None, callbacks=(), width: float | None = None
              ) -> TrainResult:
    """Step 4 of ``fit``: train a compiled (or not yet compiled) model into a run folder.

    Writes config.json, split.npz (validation positions and their provenance),
    history.csv every epoch, best.keras, model.keras; resumes an unfinished run in the
    same ``run_dir``. Each epoch's batch order and random draws come from (seed, epoch)
    (``fer_kit.callbacks``). A run whose loss turns NaN or whose validation loss
    diverges stops; model.keras is then its best finite epoch, config.json ("stopped")
    and history.csv ("event") say what happened when, and one line is printed.
    ``width`` is recorded in config.json (None: a model built elsewhere, width unknown).

    Raises:
        TrainingDiverged: no epoch ended with finite weights (nothing saved as model.keras).
    """
    prof = _profile(profile)
    rec = prepared.recipe
    if len(prepared.val) == 0:
        raise ValueError("the validation split is empty: nothing to monitor or restore by")
    run_dir = Path(run_dir) if run_dir else new_run_dir(model.name, rec.name, seed)
    run_dir.mkdir(parents=True, exist_ok=True)
    with policy_scope(policy), _scope(strategy):  # the policy sets mixed_float16's loss scaling
        if model.optimizer is None:
            compile_model(model, rec, jit_compile)
        net = training_model(model, rec.augment, seed)
        if net is not model:  # one optimizer for both: model.keras saves its trained state
            net.compile(optimizer=model.optimizer, loss=model.loss, metrics=["accuracy"],
                        jit_compile=jit_compile,
                        steps_per_execution=model.steps_per_execution)
    split = write_split(run_dir, prepared.val_index, prepared.val.ids, prepared.split_seed,
                        rec.val_fraction, prepared.pool)
    config = {"format": RUN_FORMAT, **run_key(model.name, rec, prof, width, seed,
                                               prepared.split_seed, split["pool_hash"]),
              "recipe_name": rec.name, "split": split, "data": data_name,
              "backend": backend.name(), "policy": policy or "float32",
              "train_images": len(prepared.train), "val_images": len(prepared.val),
              "pool_images": len(prepared.pool), "params": int(model.count_params())}
    atomic.write_text(run_dir / "config.json", json.dumps(config, indent=2))

    history_path = run_dir / "history.csv"
    batches = EpochBatches(prepared.train.x, prepared.train.y, rec.batch_size, seed)
    every = 10.0 if accelerator() else 0.0  # a CPU epoch takes longer than a write
    guard = Guard(history=history_path)
    keeper = BestKeeper(model, run_dir / "best.keras" if checkpoints else None, every=every)
    kit = [EpochSeeds(seed, batches), HistoryCSV(history_path), guard, keeper]
    if checkpoints:
        kit.append(Backup(run_dir / "backup", every=every, guard=guard))
    if rec.patience is not None:
        kit.append(Patience(rec.patience, history_path))
    t0 = time.perf_counter()
    with _scope(strategy):
        data = batches.tf_dataset() if backend.feeds_tf_data() else batches
        net.fit(data, epochs=rec.epochs, validation_data=(prepared.val.x, prepared.val.y),
                validation_batch_size=256, callbacks=kit + list(callbacks), verbose=verbose,
                shuffle=False)  # (the order is EpochBatches')
    seconds = time.perf_counter() - t0
    history = pd.read_csv(history_path)
    config.update(seconds=round(seconds, 1), epochs_run=len(history),
                  **_final_weights(model, rec, guard, keeper, history, run_dir))
    if config["stopped"]:
        history["event"] = ""
        history.loc[history["epoch"] == guard.event["epoch"], "event"] = \
            f"stopped: {guard.event['reason']}"
        history.loc[history["epoch"] == config["model_epoch"], "event"] = "model.keras"
        atomic.write_text(history_path, history.to_csv(index=False))
    atomic.write_text(run_dir / "config.json", json.dumps(config, indent=2))
    if config["model_epoch"] is None:
        raise TrainingDiverged(f"{run_dir}: {config['stopped']['message']}")
    with atomic.atomic_path(run_dir / "model.keras", suffix=".keras") as tmp:
        model.save(tmp)
    if config["stopped"]:
        print(f"fer_kit: {run_dir}: {config['stopped']['message']}")
    return TrainResult(model, history, run_dir, prepared.val, seconds, config)


def _final_weights(model: keras.Model, rec: Recipe, guard: Guard, keeper: BestKeeper,
                   history: pd.DataFrame, run_dir: Path) -> dict:
    """Put the weights model.keras will hold into ``model``; return config.json's record.

    The best finite epoch when the run stopped on NaN or divergence, or when the recipe
    stops early (seed 003 restores its best weights); else the last epoch. A last epoch
    with non-finite weights that the guard did not see is treated as a NaN stop.
    """
    event = guard.event
    last = int(history["epoch"].iloc[-1]) if len(history) else None
    if event is None and not all(np.isfinite(w).all() for w in model.get_weights()):
        event = guard.event = {"reason": "nan", "epoch": last, "detail": "weights became NaN"}
    if event is None and rec.patience is None:
        return {"model_epoch": last, "stopped": None}
    weights = keeper.best_weights()
    if weights is not None:
        model.set_weights(weights)
    kept = keeper.best_epoch if weights is not None else None
    if event is None:
        return {"model_epoch": kept if kept is not None else last, "stopped": None}
    if kept is None:
        message = (f"training stopped in epoch {event['epoch']} (history.csv's numbering): "
                   f"{event['detail']}, before any epoch ended with finite weights; nothing "
                   f"saved as model.keras (try a learning rate below {rec.learning_rate:g})")
    else:
        message = (f"training stopped in epoch {event['epoch']} (history.csv's numbering): "
                   f"{event['detail']}; model.keras holds epoch {kept} (val_loss "
                   f"{keeper.best:.4g}), the best finite epoch")
    return {"model_epoch": kept, "stopped": {**event, "model_epoch": kept, "message": message}}


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
        run_dir: where to write; an existing unfinished run there is resumed. Default: a
            new folder ``<time>-<model>-<recipe>-seed<seed>`` under FER_KIT_RUNS.
        seed: seeds the weights, each epoch's batch order, augmentation and dropout
            (from (seed, epoch)), and the split, unless ``split_seed`` is given (the
            ablation keeps one split across seeds).
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

    Raises:
        TrainingDiverged: the loss turned NaN before any epoch ended with finite weights.
    """
    prof = _profile(profile)
    apply_threads(prof)  # takes effect only before TensorFlow starts (fk.setup does it then)
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
    """The latest finished run of exactly this training, or a new one.

    A run is served only if everything that changes its model is equal (``run_key``:
    model, recipe values with ``overrides``, profile, width, seed, split, and a hash of
    the capped training pool, so another dataset or data seed never matches). A run that
    cannot be loaded (a corrupt model.keras, a split that is not its own) is skipped with
    one line, and the previous good run is used. Notebooks that need a trained model call
    this, so each runs alone: after ``01_train_cnn`` it loads that run in a second;
    without one it trains.
    """
    prof = _profile(profile)
    rec = replace(get_recipe(recipe), **overrides).scaled(prof)
    pool = capped_pool(data.train, prof)
    for run in find_runs(**run_key(model, rec, prof, prof.width, seed, seed, pool_hash(pool))):
        try:
            res = load_run(run, pool=pool)
        except RunError as e:
            print(f"fer_kit: skipping {run.name}: {e}")
            continue
        print(f"loaded {run}")
        return res
    return fit(data.train, model, recipe, profile=prof, seed=seed, verbose=verbose,
               data_name=data.name, **overrides)
