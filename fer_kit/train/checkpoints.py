"""The weights a run keeps on disk: its best finite epoch (``BestKeeper``, best.keras,
which ``fit`` restores when the run stops) and a backup of weights and optimizer after
the last finished epoch (``Backup``), from which a killed run resumes.
"""
from __future__ import annotations

import json
import shutil
import time
import warnings
from pathlib import Path

import keras
import numpy as np

from .. import atomic
from .callbacks import Guard, finite


class BestKeeper(keras.callbacks.Callback):
    """Keep the epoch with the lowest finite ``monitor`` (val_loss): its weights in memory,
    and in ``path`` (best.keras, with best.json naming the epoch) when given.

    Writes at most every ``every`` seconds: on a GPU an epoch can take a second, and
    writing 6.4M parameters every epoch would cost more than the epoch; a better epoch
    that comes too soon is written at the next chance or when training ends. A resumed
    run starts from best.json, and reads best.keras only if that epoch is still the best.
    """

    def __init__(self, save: keras.Model, path: Path | None = None, monitor: str = "val_loss",
                 every: float = 10.0):
        super().__init__()
        self.save, self.path, self.monitor, self.every = save, path, monitor, every
        self.best, self.best_epoch, self.weights = np.inf, None, None
        self._last, self._dirty, self._started = -np.inf, False, False

    def on_epoch_begin(self, epoch, logs=None):
        if not self._started:
            self._started = True
            meta = self.path.with_suffix(".json") if self.path is not None else None
            if epoch > 0 and meta is not None and meta.is_file() and self.path.is_file():
                saved = json.loads(meta.read_text())
                self.best, self.best_epoch = float(saved["val_loss"]), int(saved["epoch"])

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if finite(value) and value < self.best:
            self.best, self.best_epoch = float(value), epoch
            self.weights = self.save.get_weights()
            self._dirty = True
        if self._dirty and self.path is not None and time.monotonic() - self._last >= self.every:
            self._write()

    def on_train_end(self, logs=None):
        if self._dirty and self.path is not None:
            self._write()

    def _write(self):
        current = self.save.get_weights()
        self.save.set_weights(self.weights)
        with atomic.atomic_path(self.path, suffix=".keras") as tmp:
            self.save.save(tmp)
        self.save.set_weights(current)
        atomic.write_text(self.path.with_suffix(".json"), json.dumps(
            {"epoch": self.best_epoch, self.monitor: self.best}))
        self._last, self._dirty = time.monotonic(), False

    def best_weights(self) -> list | None:
        """The best finite epoch's weights (from memory, else best.keras), or None."""
        if self.weights is None and self.best_epoch is not None and self.path is not None:
            self.weights = keras.saving.load_model(self.path, safe_mode=True).get_weights()
        return self.weights


class Backup(keras.callbacks.Callback):
    """Weights and optimizer after the last finished epoch, to resume a killed run.

    Like Keras's BackupAndRestore, but each state is written atomically under its own
    name (``epoch-<k>.weights.h5``) before ``state.json`` points to it, and the previous
    state is kept: a state that cannot be read is skipped with one warning line and the
    run resumes from the one before (or from the start). Writes at the end of an epoch
    only when ``every`` seconds have passed since the last write, and never a state after
    ``guard`` tripped (NaN weights). Each state also holds the training time up to it,
    so that a resumed run's time counts its earlier parts (``seconds_before``).
    """

    def __init__(self, folder: Path, every: float = 10.0, guard: Guard | None = None):
        super().__init__()
        self.folder, self.every, self.guard = Path(folder), every, guard
        self._last = -np.inf
        #: training seconds of the earlier parts of a resumed run (0 for a fresh one)
        self.seconds_before = 0.0
        self._start = time.perf_counter()

    def _states(self) -> list[dict]:
        try:
            state = json.loads((self.folder / "state.json").read_text())
        except (OSError, ValueError):
            return []
        return [s for s in (state, state.get("previous")) if s]

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        variables = list(self.model.variables) + list(self.model.optimizer.variables)
        fresh = [np.array(v) for v in variables]
        for state in self._states():
            path = self.folder / state["weights"]
            try:
                self.model.load_weights(path)
            except Exception as e:  # torn or foreign: back to the fresh state, try the next
                for v, value in zip(variables, fresh):
                    v.assign(value)
                warnings.warn(f"{path}: backup cannot be read ({' '.join(str(e).split())[:200]}); "
                              "skipped", stacklevel=2)
                continue
            self.model._initial_epoch = int(state["epoch"])  # Keras's resume point (fit reads it)
            self.seconds_before = float(state.get("seconds", 0.0))  # older states have none
            return

    def on_epoch_end(self, epoch, logs=None):
        if self.guard is not None and self.guard.event is not None:
            return
        if time.monotonic() - self._last < self.every:
            return
        name = f"epoch-{epoch + 1}.weights.h5"
        with atomic.atomic_path(self.folder / name, suffix=".weights.h5") as tmp:
            self.model.save_weights(tmp)
        states = self._states()
        state = {"epoch": epoch + 1, "weights": name,
                 "seconds": round(self.seconds_before + time.perf_counter() - self._start, 1),
                 "previous": {k: states[0][k] for k in ("epoch", "weights", "seconds")
                              if k in states[0]} if states else None}
        atomic.write_text(self.folder / "state.json", json.dumps(state))
        keep = {name, state["previous"]["weights"] if state["previous"] else name, "state.json"}
        for old in self.folder.glob("epoch-*.weights.h5"):
            if old.name not in keep:
                old.unlink(missing_ok=True)
        self._last = time.monotonic()

    def on_train_end(self, logs=None):
        shutil.rmtree(self.folder, ignore_errors=True)
