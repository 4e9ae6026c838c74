"""Steps 1-3 of ``fit``: prepare the data, build the model with its preprocessing in front,
compile it; and the precision and device scopes the model is built and trained under.

Each step is callable on its own (README, "Training in steps")::

    prep = fk.train.prepare_data(pool, "keras_vgg", profile, split_seed=0)
    model = fk.train.build_model("vgg_selu", prep, profile)   # pixels -> probabilities
    fk.train.compile_model(model, prep.recipe)
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace

import keras
import numpy as np

from .. import backend, models
from ..augment import AugmentConfig
from ..backend import accelerator
from ..config import Profile, get_profile
from ..data.io import Split
from ..data.split import flip_double, split_indices
from ..preprocess import make_normalizer, preprocessing_layers
from .recipes import Recipe, get_recipe
from .runs import pool_hash


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
        pool_hash: ``fer_kit.train.runs.pool_hash(pool)``, recorded with the split.
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


def as_profile(profile: "str | Profile | None") -> Profile:
    """A Profile, by name (None: FER_KIT_PROFILE) or as given."""
    return profile if isinstance(profile, Profile) else get_profile(profile)


def capped_pool(pool: Split, prof: Profile) -> Split:
    """The first ``prof.max_train`` images of the training pool (all if no cap)."""
    if prof.max_train is not None and len(pool) > prof.max_train:
        return pool.take(np.arange(prof.max_train))
    return pool


def prepare_data(pool: Split, recipe: "str | Recipe" = "keras_vgg", profile=None,
                 split_seed: int = 0, **recipe_overrides) -> Prepared:
    """Step 1 of ``fit``: cap the pool, split it, double it, fit the normalizer.

    The split is stratified (``val_fraction`` of the pool, seeded by ``split_seed``:
    ``fer_kit.data.split.split_indices``); only the training part is mirrored
    (``flip_double``), and the normalizer is fitted on it alone. ``fit_model`` saves the
    validation positions with the split seed and a hash of the pool, so a loaded run
    knows its split and refuses another.

    Raises:
        ValueError: the pool has no labels.
    """
    prof = as_profile(profile)
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
    prof = as_profile(profile)
    layers = prepared.preprocessing() if prepared is not None else []
    if isinstance(model, str):
        builder_kwargs.setdefault("width", prof.width)
        return models.build(model, preprocessing=layers, **builder_kwargs)
    return models.with_preprocessing(model, layers)


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

    Raises:
        ValueError: another value than those above.
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


def strategy_scope(strategy):
    """``strategy.scope()`` (tf.distribute or keras.distribution), or nothing."""
    return strategy.scope() if strategy is not None else contextlib.nullcontext()
