"""Step 4 of ``fit``: the training loop into a run folder (``fit_model``).

A run folder can be resumed after a crash and trusted after a NaN: each epoch's draws
come from (seed, epoch) (``epochs``), history.csv gets one row per finished epoch, a
backup of weights and optimizer resumes a killed run, ``Guard`` stops a run whose loss
turns NaN or diverges, and model.keras then holds its best finite epoch (``callbacks``).
What the folder holds, and how it is loaded, is ``runs``'s.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from .. import atomic, backend
from ..backend import accelerator
from ..config import Profile
from .callbacks import Guard, HistoryCSV, Patience
from .checkpoints import Backup, BestKeeper
from .epochs import EpochBatches, EpochSeeds
from .options import RUN_OPTIONS, RunOptions, run_options
from .recipes import Recipe
from .runs import RUN_FORMAT, TrainResult, claim_run_dir, run_key, write_split
from .steps import (Prepared, as_profile, compile_model, policy_scope, strategy_scope,
                    training_model)


class TrainingDiverged(RuntimeError):
    """A run whose loss turned NaN (or diverged) before any epoch finished with finite weights."""


def new_run_dir(model_name: str, recipe_name: str, seed: int | None = None) -> Path:
    """A fresh run directory under FER_KIT_RUNS, claimed atomically (``runs.claim_run_dir``)."""
    return claim_run_dir(model_name, recipe_name, seed)


def fit_model(model: keras.Model, prepared: Prepared, run_dir: str | Path | None = None,
              seed: int = 0, *, profile: "str | Profile | None" = None,
              options: RunOptions | None = None, policy: str | None = None,
              width: float | None = None, **keywords) -> TrainResult:
    """Step 4 of ``fit``: train a compiled (or not yet compiled) model into a run folder.

    Writes config.json, split.npz (validation positions and their provenance),
    history.csv every epoch, best.keras, model.keras; resumes an unfinished run in the
    same ``run_dir``. Each epoch's batch order and random draws come from (seed, epoch)
    (``fer_kit.train.epochs``). A run whose loss turns NaN or whose validation loss
    diverges stops; model.keras is then its best finite epoch, config.json ("stopped")
    and history.csv ("event") say what happened when, and one line is printed.

    Args:
        model: the network from ``build_model`` (compiled by the recipe if not compiled).
        prepared: step 1's data (``prepare_data``).
        run_dir: where to write; an unfinished run there is resumed (default: a new folder).
        seed: seeds each epoch's batch order, augmentation and dropout.
        profile: the profile recorded in config.json (default: FER_KIT_PROFILE).
        options: how to run (``RunOptions``); ``keywords`` named after its fields replace
            them, so ``fit_model(model, prep, verbose=0)`` reads as before.
        policy: the dtype policy ``model`` was built under (``precision_policy``): the
            augmentation is built and the model compiled under it, and config.json records it.
        width: recorded in config.json (None: a model built elsewhere, width unknown).

    Raises:
        TrainingDiverged: no epoch ended with finite weights (nothing saved as model.keras).
        ValueError: the validation split is empty.
        TypeError: a keyword that is not a RunOptions field.
    """
    opts = run_options(options, keywords)
    if keywords:
        raise TypeError(f"fit_model() got unexpected keyword arguments {sorted(keywords)}; "
                        f"RunOptions fields are {', '.join(RUN_OPTIONS)}")
    rec = prepared.recipe
    if len(prepared.val) == 0:
        raise ValueError("the validation split is empty: nothing to monitor or restore by")
    run_dir = Path(run_dir) if run_dir else new_run_dir(model.name, rec.name, seed)
    run_dir.mkdir(parents=True, exist_ok=True)
    net = _training_net(model, rec, seed, opts, policy)
    config = _write_config(model, prepared, run_dir, seed, as_profile(profile), width,
                           policy, opts.data_name)
    batches = EpochBatches(prepared.train.x, prepared.train.y, rec.batch_size, seed)
    guard, keeper, kit = _run_callbacks(model, rec, run_dir, seed, batches, opts.checkpoints)
    t0 = time.perf_counter()
    with strategy_scope(opts.strategy):
        data = batches.tf_dataset() if backend.feeds_tf_data() else batches
        net.fit(data, epochs=rec.epochs, validation_data=(prepared.val.x, prepared.val.y),
                validation_batch_size=256, callbacks=kit + list(opts.callbacks),
                verbose=opts.verbose, shuffle=False)  # (the order is EpochBatches')
    # a resumed run's time counts its earlier parts (from the backup it resumed)
    seconds = time.perf_counter() - t0 + sum(k.seconds_before for k in kit if isinstance(k, Backup))
    history = _save_run(model, rec, guard, keeper, run_dir, config, seconds)
    return TrainResult(model, history, run_dir, prepared.val, seconds, config)


def _training_net(model: keras.Model, rec: Recipe, seed: int, opts: RunOptions,
                  policy: str | None) -> keras.Model:
    """Compile ``model`` if it is not, and put the recipe's augmentation in front of it."""
    with policy_scope(policy), strategy_scope(opts.strategy):  # the policy sets mixed_float16's loss scaling
        if model.optimizer is None:
            compile_model(model, rec, opts.jit_compile)
        net = training_model(model, rec.augment, seed)
        if net is not model:  # one optimizer for both: model.keras saves its trained state
            net.compile(optimizer=model.optimizer, loss=model.loss, metrics=["accuracy"],
                        jit_compile=opts.jit_compile,
                        steps_per_execution=model.steps_per_execution)
    return net


def _write_config(model: keras.Model, prepared: Prepared, run_dir: Path, seed: int,
                  prof: Profile, width: float | None, policy: str | None, data_name: str) -> dict:
    """Write split.npz and config.json (what is run, before any epoch); return the config."""
    rec = prepared.recipe
    split = write_split(run_dir, prepared.val_index, prepared.val.ids, prepared.split_seed,
                        rec.val_fraction, prepared.pool)
    config = {"format": RUN_FORMAT, **run_key(model.name, rec, prof, width, seed,
                                               prepared.split_seed, split["pool_hash"]),
              "recipe_name": rec.name, "split": split, "data": data_name,
              "backend": backend.name(), "policy": policy or "float32",
              "train_images": len(prepared.train), "val_images": len(prepared.val),
              "pool_images": len(prepared.pool), "params": int(model.count_params())}
    atomic.write_text(run_dir / "config.json", json.dumps(config, indent=2))
    return config


def _run_callbacks(model: keras.Model, rec: Recipe, run_dir: Path, seed: int,
                   batches: EpochBatches, checkpoints: bool
                   ) -> tuple[Guard, BestKeeper, list[keras.callbacks.Callback]]:
    """The kit's callbacks, in the order they must run each epoch (``fer_kit.train.callbacks``)."""
    history_path = run_dir / "history.csv"
    every = 10.0 if accelerator() else 0.0  # a CPU epoch takes longer than a write
    guard = Guard(history=history_path)
    keeper = BestKeeper(model, run_dir / "best.keras" if checkpoints else None, every=every)
    kit = [EpochSeeds(seed, batches), HistoryCSV(history_path), guard, keeper]
    if checkpoints:
        kit.append(Backup(run_dir / "backup", every=every, guard=guard))
    if rec.patience is not None:
        kit.append(Patience(rec.patience, history_path))
    return guard, keeper, kit


def _save_run(model: keras.Model, rec: Recipe, guard: Guard, keeper: BestKeeper,
              run_dir: Path, config: dict, seconds: float) -> pd.DataFrame:
    """After training: the final weights into ``model``, config.json and history.csv
    completed, model.keras written; returns the history.

    Raises:
        TrainingDiverged: no epoch ended with finite weights.
    """
    history_path = run_dir / "history.csv"
    history = pd.read_csv(history_path)
    config.update(seconds=round(seconds, 1), epochs_run=len(history),
                  **_final_weights(model, rec, guard, keeper, history))
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
    return history


def _final_weights(model: keras.Model, rec: Recipe, guard: Guard, keeper: BestKeeper,
                   history: pd.DataFrame) -> dict:
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
