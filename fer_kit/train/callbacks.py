"""The callbacks that watch a run and survive its resume: the log, the guard, the patience.

``HistoryCSV`` writes one row per finished epoch, also across a resume; ``Guard`` stops a
run whose loss turns NaN or whose validation loss diverges; ``Patience`` is early
stopping that remembers its count across a resume. What is kept on disk to restore is
``checkpoints``'s; each epoch's random draws are ``epochs``'s.
"""
from __future__ import annotations

import math
from pathlib import Path

import keras
import pandas as pd

from .. import atomic


def _history_rows(path: Path | None, before: int) -> pd.DataFrame:
    """history.csv's rows of epochs before ``before`` (none if there is no file)."""
    if path is None or not Path(path).is_file():
        return pd.DataFrame(columns=["epoch"])
    rows = pd.read_csv(path)
    return rows[rows["epoch"] < before]


def finite(v) -> bool:
    """Whether a logged value is a finite number (None is not)."""
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
        if loss is not None and not finite(loss):
            self._trip("nan", f"the training loss became {float(loss)} in batch {batch}")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        loss, val = logs.get("loss"), logs.get("val_loss")
        for name, v in (("training loss", loss), ("validation loss", val)):
            if v is not None and not finite(v):
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
