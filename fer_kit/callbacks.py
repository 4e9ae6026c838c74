"""The callbacks behind a run that can be stopped, resumed and trusted.

Each epoch's random draws come from (seed, epoch) alone: ``EpochBatches`` orders the
training images by a permutation drawn from them, and ``EpochSeeds`` sets every Keras
``SeedGenerator`` in the model (augmentation, dropout) from them at the start of the
epoch. A run resumed at epoch k therefore draws what epoch k of the uninterrupted run
draws, and with ``Backup`` restoring weights and optimizer, it continues that run.
(Keras's own shuffle cannot do this: on TensorFlow, with a seed set, it gives the same
order every epoch, and a fresh process restarts its generators.)

``Guard`` stops a run whose loss turns NaN or whose validation loss diverges;
``BestKeeper`` holds the best finite epoch (written to best.keras), which ``fit``
restores; ``Patience`` is early stopping that remembers its count across a resume.
"""
from __future__ import annotations

import json
import math
import shutil
import time
import warnings
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from . import atomic
from .backend.tf import epoch_dataset


def epoch_rng(seed: int, epoch: int, stream: int) -> np.random.Generator:
    """A NumPy generator for one stream (0: batch order, k: k-th seed generator) of one epoch."""
    return np.random.default_rng([int(seed) % 2 ** 32, int(epoch), int(stream)])


class EpochBatches(keras.utils.PyDataset):
    """Training batches in an order drawn from (seed, epoch): the same on every backend,
    and the same for a resumed epoch as for the uninterrupted one.

    ``EpochSeeds`` sets ``epoch`` at the start of each epoch. A batch is a pure function
    of (seed, epoch, index), so a batch Keras prefetches early is still the right one.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int, seed: int):
        super().__init__()  # one worker, no processes: the batches are slices of arrays
        self.x, self.y, self.batch_size, self.seed = x, y, int(batch_size), int(seed)
        self._epoch, self._epoch_tf = 0, None
        self._orders: dict[int, np.ndarray] = {}

    @property
    def epoch(self) -> int:
        """The epoch whose order the batches follow (set at each epoch's start)."""
        return self._epoch

    @epoch.setter
    def epoch(self, epoch: int):
        self._epoch = int(epoch)
        if self._epoch_tf is not None:
            self._epoch_tf.assign(self._epoch)

    def tf_dataset(self):
        """The same batches as a tf.data pipeline, for TensorFlow, which reads a PyDataset
        one Python call a batch (``fer_kit.backend.tf.epoch_dataset``; its order is
        TensorFlow's stateless shuffle of (seed, epoch), fixed by them as this one is).
        """
        ds, self._epoch_tf = epoch_dataset(self.x, self.y, self.batch_size, self.seed,
                                           self._epoch)
        return ds

    def __len__(self) -> int:
        return -(-len(self.x) // self.batch_size)

    def order(self, epoch: int) -> np.ndarray:
        """The permutation of the training images in ``epoch``."""
        if epoch not in self._orders:
            self._orders = {e: o for e, o in self._orders.items() if e >= epoch - 1}
            self._orders[epoch] = epoch_rng(self.seed, epoch, 0).permutation(len(self.x))
        return self._orders[epoch]

    def __getitem__(self, i: int):
        idx = self.order(self.epoch)[i * self.batch_size:(i + 1) * self.batch_size]
        return self.x[idx], self.y[idx]


class EpochSeeds(keras.callbacks.Callback):
    """At each epoch's start: the batch order and every SeedGenerator from (seed, epoch)."""

    def __init__(self, seed: int, batches: EpochBatches | None = None):
        super().__init__()
        self.seed, self.batches = int(seed), batches

    def on_epoch_begin(self, epoch, logs=None):
        if self.batches is not None:
            self.batches.epoch = epoch
        # a SeedGenerator's state is a (2,) variable: [seed, counter]; random layers draw
        # with it and count up, so setting it fixes every draw of the epoch
        states = [v for v in self.model.variables if v.path.endswith("seed_generator_state")]
        for k, v in enumerate(states, start=1):
            s = int(epoch_rng(self.seed, epoch, k).integers(2 ** 31))
            v.assign(np.array([s, 0], dtype=v.dtype))


def _history_rows(path: Path | None, before: int) -> pd.DataFrame:
    """history.csv's rows of epochs before ``before`` (none if there is no file)."""
    if path is None or not Path(path).is_file():
        return pd.DataFrame(columns=["epoch"])
    rows = pd.read_csv(path)
    return rows[rows["epoch"] < before]


def _finite(v) -> bool:
    return v is not None and math.isfinite(float(v))


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
            self.rows = _history_rows(self.path, epoch).to_dict("records")

    def on_epoch_end(self, epoch, logs=None):
        self.rows.append({"epoch": epoch, **{k: float(v) for k, v in (logs or {}).items()}})
        atomic.write_text(self.path, pd.DataFrame(self.rows).to_csv(index=False))


class Guard(keras.callbacks.Callback):
    """Stop a run whose loss turns NaN or inf, or diverges.

    Diverged, either of:

    * a validation loss over ``factor`` times the first epoch's, the first epoch's counted
      as at least a uniform guess's loss, ln(classes), so that ordinary overfitting after
      a very good first epoch is not taken for divergence;
    * a training loss over ``train_factor`` ln(classes) (7.8 for 7 classes: the model
      gives its own training images, on average, less than 1/7**4 of probability for
      their class). This catches a run that diverged at once (``learning_rate=10``), and
      runs on backends that clip the loss: Keras on JAX computes the cross-entropy from
      probabilities clipped at 1e-7, so a diverged JAX run's loss stays near 13, under
      any multiple of the first epoch's. A validation loss alone may be high early on
      (batch-norm statistics that lag the weights) without the run diverging; a
      training loss that high is not seen in a run that learns (about 3 at most here,
      also from raw 0-255 pixels).

    ``event`` then says what and when.
    """

    def __init__(self, factor: float = 10.0, train_factor: float = 4.0,
                 history: Path | None = None):
        super().__init__()
        self.factor, self.train_factor, self.history = factor, train_factor, history
        self.event: dict | None = None
        self.first: float | None = None
        self._epoch, self._started = 0, False

    def _trip(self, reason: str, detail: str):
        if self.event is None:
            self.event = {"reason": reason, "epoch": self._epoch, "detail": detail}
        self.model.stop_training = True

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        if not self._started:
            self._started = True
            rows = _history_rows(self.history, epoch)
            if len(rows) and "val_loss" in rows:
                self.first = float(rows.iloc[0]["val_loss"])

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not _finite(loss):
            self._trip("nan", f"the training loss became {float(loss)} in batch {batch}")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        loss, val = logs.get("loss"), logs.get("val_loss")
        for name, v in (("training loss", loss), ("validation loss", val)):
            if v is not None and not _finite(v):
                self._trip("nan", f"the {name} became {float(v)}")
        if self.event is not None:
            return
        uniform = math.log(self.model.output_shape[-1])
        if loss is not None and loss > self.train_factor * uniform:
            self._trip("diverged", f"the training loss reached {loss:.4g} (limit "
                                   f"{self.train_factor * uniform:.3g}: {self.train_factor:g} "
                                   "times a uniform guess's)")
            return
        if val is None:
            return
        if self.first is None:
            self.first = float(val)
        limit = self.factor * max(self.first, uniform)
        if val > limit:
            self._trip("diverged", f"the validation loss reached {val:.4g} (limit {limit:.4g}: "
                                   f"{self.factor:g} times the first epoch's, at least a "
                                   "uniform guess's)")


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
        if _finite(value) and value < self.best:
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


class Patience(keras.callbacks.EarlyStopping):
    """EarlyStopping on val_loss whose count survives a resume: rebuilt from history.csv.

    The best weights are restored by ``fit`` from ``BestKeeper`` (finite epochs only).
    """

    def __init__(self, patience: int, history: Path | None):
        super().__init__(monitor="val_loss", patience=patience)
        self.history, self._started = history, False

    def on_epoch_begin(self, epoch, logs=None):
        if self._started:
            return
        self._started = True
        for row in _history_rows(self.history, epoch).itertuples():  # as on_epoch_end counts
            self.wait += 1
            if self.best is None or row.val_loss < self.best:
                self.best, self.best_epoch, self.wait = float(row.val_loss), int(row.epoch), 0


class Backup(keras.callbacks.Callback):
    """Weights and optimizer after the last finished epoch, to resume a killed run.

    Like Keras's BackupAndRestore, but each state is written atomically under its own
    name (``epoch-<k>.weights.h5``) before ``state.json`` points to it, and the previous
    state is kept: a state that cannot be read is skipped with one warning line and the
    run resumes from the one before (or from the start). Writes at the end of an epoch
    only when ``every`` seconds have passed since the last write, and never a state after
    ``guard`` tripped (NaN weights).
    """

    def __init__(self, folder: Path, every: float = 10.0, guard: Guard | None = None):
        super().__init__()
        self.folder, self.every, self.guard = Path(folder), every, guard
        self._last = -np.inf

    def _states(self) -> list[dict]:
        try:
            state = json.loads((self.folder / "state.json").read_text())
        except (OSError, ValueError):
            return []
        return [s for s in (state, state.get("previous")) if s]

    def on_train_begin(self, logs=None):
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
        state = {"epoch": epoch + 1, "weights": name, "previous":
                 {k: states[0][k] for k in ("epoch", "weights")} if states else None}
        atomic.write_text(self.folder / "state.json", json.dumps(state))
        keep = {name, state["previous"]["weights"] if state["previous"] else name, "state.json"}
        for old in self.folder.glob("epoch-*.weights.h5"):
            if old.name not in keep:
                old.unlink(missing_ok=True)
        self._last = time.monotonic()

    def on_train_end(self, logs=None):
        shutil.rmtree(self.folder, ignore_errors=True)
