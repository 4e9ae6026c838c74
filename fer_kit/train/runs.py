"""Run folders: claimed atomically, found by what made them, loaded only when sound.

A run folder is named ``<time>-<model>-<recipe>-seed<seed>`` and claimed with one
``mkdir`` (atomic on every file system): two runs started in the same second, even with
the same seed, get two folders (the second ``...-seed0-2``). ``config.json`` records
everything that changes the model (recipe values, profile, width, seed, the split and a
hash of the training pool), so ``find_runs`` serves a run only for what was asked.

``load_run`` refuses, in one line naming the file: a model.keras that is not a .keras
archive or holds NaN/inf weights, a split.npz that is not the run's own (another split
seed or pool than config.json records) or is empty, and a pool that is not the run's.
"""
from __future__ import annotations

import hashlib
import json
import time
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from .. import atomic, models
from ..config import Profile, runs_dir
from ..data.io import Split
from ..preprocess import load_normalizer, preprocessing_layers
from .recipes import Recipe

RUN_FORMAT = 3  # 2: the model takes pixels; 3: split provenance, pool hash, run epochs


class RunError(ValueError):
    """A run folder the kit will not serve: names the file and what is wrong with it."""


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


def pool_hash(pool: Split) -> str:
    """SHA-256 (16 hex digits) of a training pool's images, labels and ids."""
    h = hashlib.sha256()
    for a in (pool.x, pool.y, pool.ids):
        if a is not None:
            h.update(np.ascontiguousarray(a).data)
        h.update(b"|")
    return h.hexdigest()[:16]


def index_hash(index: np.ndarray) -> str:
    """SHA-256 (16 hex digits) of validation positions, as int64."""
    return hashlib.sha256(np.ascontiguousarray(index, np.int64).data).hexdigest()[:16]


def claim_run_dir(model_name: str, recipe_name: str, seed: int | None = None,
                  root: Path | None = None) -> Path:
    """Create and return a new run folder under ``root`` (default FER_KIT_RUNS).

    The name is ``<YYYYmmdd-HHMMSS>-<model>-<recipe>-seed<seed>``; when another run
    holds it, ``-2``, ``-3``, ... is appended. ``mkdir`` either creates the folder or
    fails, so no two processes can both claim one name.
    """
    root = Path(root) if root is not None else runs_dir()
    root.mkdir(parents=True, exist_ok=True)
    base = f"{time.strftime('%Y%m%d-%H%M%S')}-{model_name}-{recipe_name}"
    base += f"-seed{seed}" if seed is not None else ""
    k = 1
    while True:
        path = root / (base if k == 1 else f"{base}-{k}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            k += 1


def jsonable(obj):
    """``obj`` as it reads back from JSON (tuples become lists), to compare with config.json."""
    return json.loads(json.dumps(obj))


def run_key(model_name: str, recipe: Recipe, profile: Profile, width: float | None,
            seed: int, split_seed: int, pool: str) -> dict:
    """The config.json entries that decide what a run's model is: ``get_run`` serves a run
    only if all are equal (recipe values after overrides and the profile's scaling, not
    only the recipe's name; ``pool`` is ``pool_hash`` of the capped training pool)."""
    return {"model": model_name, "recipe": jsonable(asdict(recipe)), "profile": profile.name,
            "width": width, "seed": seed, "split_seed": split_seed, "pool_hash": pool}


def read_config(run_dir: str | Path) -> dict | None:
    """A run's config.json, or None if it is missing or not JSON."""
    try:
        return json.loads((Path(run_dir) / "config.json").read_text())
    except (OSError, ValueError):
        return None


def find_runs(**match) -> list[Path]:
    """Finished runs (with a model.keras) whose config.json has every entry of ``match``
    (and the current format), newest first. Whether the model can be read is
    ``load_run``'s to say: ``get_run`` and the CLI skip, with one line, a run it refuses."""
    root = runs_dir()
    runs = sorted((p.parent for p in root.glob("*/model.keras")), reverse=True) \
        if root.is_dir() else []
    match = {"format": RUN_FORMAT, **match}
    found = []
    for run in runs:
        config = read_config(run)
        if config is not None and all(config.get(k) == v for k, v in match.items()):
            found.append(run)
    return found


def latest_run(model_name: str | None = None, **match) -> Path | None:
    """The newest finished run directory, optionally for one model and with config.json
    entries equal to ``match`` (e.g. profile='demo')."""
    runs = find_runs(**({"model": model_name} if model_name else {}), **match)
    return runs[0] if runs else None


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return text if len(text) <= 400 else text[:397] + "..."


def read_model(path: Path) -> keras.Model:
    """Load a .keras file in safe mode, or raise RunError naming it and the problem."""
    if not path.is_file():
        raise FileNotFoundError(f"{path.parent}: no {path.name} (unfinished or not a run folder)")
    if not zipfile.is_zipfile(path):
        head = path.read_bytes()[:8]
        raise RunError(f"{path}: cannot be read: not a .keras archive ({path.stat().st_size:,} "
                       f"bytes, starting {head!r}; a .keras file is a zip archive)")
    try:
        model = keras.saving.load_model(path, safe_mode=True)
    except Exception as e:  # a torn archive, a foreign file, a Lambda layer in safe mode
        raise RunError(f"{path}: cannot be read: {_one_line(e)}") from None
    bad = sum(not np.isfinite(w).all() for w in model.get_weights() if w.dtype.kind == "f")
    if bad:
        raise RunError(f"{path}: NaN or inf in {bad} of {len(model.get_weights())} weight "
                       "arrays: not served (train again; best.keras may hold a good epoch)")
    return model


def _read_split(run_dir: Path, config: dict, pool: Split | None) -> Split | None:
    """The run's validation images from split.npz, after checking it is the run's own."""
    split_file = run_dir / "split.npz"
    if pool is None or not split_file.is_file():
        return None
    try:
        with np.load(split_file, allow_pickle=False) as z:
            saved = {k: z[k] for k in z.files}
    except Exception as e:
        raise RunError(f"{split_file}: cannot be read: {_one_line(e)}") from None
    index, ids = saved["val_index"], saved["val_ids"]
    if len(index) == 0:
        raise RunError(f"{split_file}: the validation split is empty (0 images)")
    recorded = config.get("split") or {}
    if "split_seed" in saved:  # format 3: the split says where it came from
        mine = {"seed": int(saved["split_seed"]), "pool_hash": str(saved["pool_hash"]),
                "val_index_sha": index_hash(index)}
        theirs = {k: recorded.get(k) for k in mine}
        if recorded and mine != theirs:
            raise RunError(f"{split_file}: not this run's split (split seed {mine['seed']}, "
                           f"pool {mine['pool_hash']}; config.json records split seed "
                           f"{theirs['seed']}, pool {theirs['pool_hash']})")
        if pool_hash(pool) != mine["pool_hash"]:
            raise RunError(f"{run_dir}: the training pool given is not the one this run was "
                           f"split from (pool hash {pool_hash(pool)}, the run's "
                           f"{mine['pool_hash']}): another dataset, profile or data seed?")
    if index.max() >= len(pool) or not np.array_equal(pool.ids[index], ids):
        raise RunError(f"{run_dir}: its saved validation split does not match this training "
                       "pool (another dataset or profile?)")
    return pool.take(index)


def load_run(run_dir: str | Path, pool: Split | None = None) -> TrainResult:
    """Load a finished run. The model loads in safe mode and takes pixels.

    Args:
        run_dir: the run folder.
        pool: the training pool the run was split from; with it, ``result.val`` holds the
            run's validation images (from split.npz, checked against its provenance and ids).

    Raises:
        FileNotFoundError: no model.keras (an unfinished run, or not a run folder).
        RunError: (a ValueError) one line naming the file and what is wrong with it.
    """
    run_dir = Path(run_dir)
    if not (run_dir / "model.keras").is_file():
        raise FileNotFoundError(f"{run_dir}: no model.keras (unfinished or not a run folder)")
    config = read_config(run_dir)
    if config is None:
        raise RunError(f"{run_dir / 'config.json'}: missing or not JSON")
    model = read_model(run_dir / "model.keras")
    norm_file = run_dir / "normalizer.npz"
    if config.get("format", 1) < 2 and norm_file.is_file():  # before the model took pixels
        model = models.with_preprocessing(model, preprocessing_layers(load_normalizer(norm_file)))
    val = _read_split(run_dir, config, pool)
    history_file = run_dir / "history.csv"
    history = pd.read_csv(history_file) if history_file.is_file() else pd.DataFrame()
    if config.get("stopped"):
        print(f"fer_kit: note: {run_dir.name}: {config['stopped']['message']}")
    return TrainResult(model, history, run_dir, val, float(config.get("seconds", "nan")), config)


def write_split(run_dir: Path, val_index: np.ndarray, val_ids: np.ndarray, split_seed: int,
                val_fraction: float, pool: Split) -> dict:
    """Write split.npz with its provenance; return the record config.json keeps of it."""
    record = {"seed": int(split_seed), "val_fraction": float(val_fraction),
              "pool_hash": pool_hash(pool), "pool_images": len(pool),
              "val_images": len(val_index), "val_index_sha": index_hash(val_index)}
    with atomic.atomic_path(run_dir / "split.npz", suffix=".npz") as tmp:
        np.savez(tmp, val_index=val_index, val_ids=val_ids, split_seed=record["seed"],
                 val_fraction=record["val_fraction"], pool_hash=record["pool_hash"],
                 pool_images=record["pool_images"])
    return record
