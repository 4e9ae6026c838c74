"""``fit``: the four steps in one call, into a run folder; ``get_run``: a finished run of
exactly this training, or a new one.
"""
from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path

import keras

from ..config import Profile, apply_threads, seed_everything
from ..data.io import Split
from .loop import fit_model
from .options import RUN_OPTIONS, RunOptions, run_options
from .recipes import Recipe, get_recipe
from .runs import RunError, TrainResult, find_runs, load_run, pool_hash, run_key
from .steps import (as_profile, build_model, capped_pool, compile_model, policy_scope,
                    precision_policy, prepare_data, strategy_scope)


def fit(train: Split, model: "str | keras.Model" = "vgg_selu",
        recipe: "str | Recipe" = "keras_vgg", profile: "str | Profile | None" = None,
        run_dir: str | Path | None = None, seed: int = 0, *, split_seed: int | None = None,
        options: RunOptions | None = None, **keywords) -> TrainResult:
    """Train a model on a labeled training pool with a recipe, scaled by the profile.

    The four steps, each callable on its own::

        prep = fk.train.prepare_data(pool, "keras_vgg", profile, split_seed=0)
        model = fk.train.build_model("vgg_selu", prep, profile)   # pixels -> probabilities
        fk.train.compile_model(model, prep.recipe)
        res = fk.train.fit_model(model, prep, seed=0)

    Args:
        train: the labeled training pool (split 90/10 here).
        model: a registered model name (built at the profile's width) or a Keras model.
        recipe: 'keras_vgg' (seed 003), 'torch_cnn' (seed 000) or a Recipe.
        profile: the profile (default: FER_KIT_PROFILE).
        run_dir: where to write; an existing unfinished run there is resumed. Default: a
            new folder ``<time>-<model>-<recipe>-seed<seed>`` under FER_KIT_RUNS.
        seed: seeds the weights, each epoch's batch order, augmentation and dropout
            (from (seed, epoch)), and the split, unless ``split_seed`` is given (the
            ablation keeps one split across seeds).
        options: how to run it (``RunOptions``: verbose, data_name, checkpoints, callbacks,
            strategy, mixed_precision, jit_compile).
        keywords: a ``RunOptions`` field (``verbose=0``) replaces that field of
            ``options``; a ``Recipe`` field (``epochs=5``, ``augment=None``) overrides
            the recipe's.

    Returns:
        TrainResult; ``result.model`` takes uint8 pixels.

    Raises:
        TrainingDiverged: the loss turned NaN before any epoch ended with finite weights.
        TypeError: a keyword that is neither a RunOptions nor a Recipe field.
    """
    opts = run_options(options, keywords)
    unknown = sorted(set(keywords) - {f.name for f in fields(Recipe)})
    if unknown:
        raise TypeError(f"fit() got unexpected keyword arguments {unknown}: neither Recipe "
                        f"fields ({', '.join(f.name for f in fields(Recipe))}) nor RunOptions "
                        f"fields ({', '.join(RUN_OPTIONS)})")
    prof = as_profile(profile)
    apply_threads(prof)  # takes effect only before TensorFlow starts (fk.setup does it then)
    seed_everything(seed)
    prep = prepare_data(train, recipe, prof, seed if split_seed is None else split_seed,
                        **keywords)
    policy = precision_policy(opts.mixed_precision)
    with policy_scope(policy), strategy_scope(opts.strategy):
        net = build_model(model, prep, prof)
        compile_model(net, prep.recipe, opts.jit_compile)
    return fit_model(net, prep, run_dir, seed, profile=prof, options=opts, policy=policy,
                     width=prof.width if isinstance(model, str) else None)


def get_run(data, model: str = "vgg_selu", recipe: str = "keras_vgg",
            profile: "str | Profile | None" = None, seed: int = 0, verbose: int = 2,
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
    prof = as_profile(profile)
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
