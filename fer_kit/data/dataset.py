"""The two containers every part of the kit passes data in: ``Split`` and ``Dataset``.

They sit in a module of their own, not in ``io``, because every layer from ``split`` and
``synth`` to ``train``, ``evaluate`` and ``ablation`` uses them, and none of those needs
the file formats.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..config import EMOTIONS


@dataclass
class Split:
    """Images with their labels and ids.

    Attributes:
        x: uint8 images, shape (N, 48, 48, 1).
        y: int64 labels 0-6, shape (N,), or None for an unlabeled test set.
        ids: int64 ids, shape (N,) (test.csv's id column, else the data-row index).
        masks: SynthFER only: bool (N, 48, 48) ground-truth expression masks.
        drawn: SynthFER only: int64 (N,) the class each face was drawn from, before the
            label noise (``y`` is the label as given, wrong for a share of faces by design).
    """

    x: np.ndarray
    y: np.ndarray | None
    ids: np.ndarray
    masks: np.ndarray | None = None
    drawn: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.x)

    def take(self, index) -> "Split":
        """Return the rows ``index`` (an index array or boolean mask) as a new Split."""
        return Split(self.x[index], None if self.y is None else self.y[index], self.ids[index],
                     None if self.masks is None else self.masks[index],
                     None if self.drawn is None else self.drawn[index])


@dataclass
class Dataset:
    """A whole FER data source: the training pool and the test sets it has.

    Attributes:
        name: ``SynthFER`` or the file it came from.
        train: labeled training pool (split it with ``fk.data.split.train_val_split``).
        public: Kaggle PublicTest rows (labeled), if present.
        private: Kaggle PrivateTest rows (labeled), if present.
        test: unlabeled test rows (course test.csv), if present.
        skipped: DataFrame(file, line, reason) of rows left out with ``on_error="skip"``.
    """

    name: str
    train: Split
    public: Split | None = None
    private: Split | None = None
    test: Split | None = None
    skipped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["file", "line", "reason"]))

    @property
    def is_synthetic(self) -> bool:
        return self.name == "SynthFER"

    def summary(self) -> pd.DataFrame:
        """Class counts of every split, one row per split."""
        rows = {}
        for name in ("train", "public", "private", "test"):
            s = getattr(self, name)
            if s is None:
                continue
            counts = (np.bincount(s.y, minlength=len(EMOTIONS)) if s.y is not None
                      else [np.nan] * len(EMOTIONS))
            rows[name] = dict(zip(EMOTIONS, counts), total=len(s))
        return pd.DataFrame(rows).T


def data_key(data: Dataset) -> str:
    """The dataset's name and a hash of its labeled images and labels (12 hex digits)."""
    h = hashlib.sha256()
    for split in (data.train, data.public, data.private):
        if split is not None:
            h.update(np.ascontiguousarray(split.x).data)
            if split.y is not None:
                h.update(np.ascontiguousarray(split.y, np.int64).data)
        h.update(b"|")
    return f"{data.name}:{h.hexdigest()[:12]}"
