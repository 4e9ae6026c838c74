"""``ImageDataGenerator.flow``'s iterator: batches from NumPy arrays, as the legacy class
drew them, usable in ``model.fit`` on every Keras backend (a ``keras.utils.PyDataset``)
and in a ``for`` loop (endless, as in Keras 2).

The legacy seeding is kept so that a seed gives the legacy batches: with ``seed``, NumPy's
global random state is seeded with ``seed + batches seen so far`` before each batch, the
order is ``np.random.permutation`` at each epoch's start, and each image's transform is
drawn by ``get_random_transform`` in turn.
"""
from __future__ import annotations

import threading

import keras
import numpy as np


class NumpyArrayIterator(keras.utils.PyDataset):
    """Yields ``(x, y)`` (or ``x``; ``(x, y, sample_weight)``) batches, augmented and
    standardized by ``generator``, as Keras 2's ``NumpyArrayIterator``."""

    def __init__(self, x, y, generator, batch_size: int = 32, shuffle: bool = True,
                 sample_weight=None, seed=None, subset=None, ignore_class_split=False,
                 dtype="float32"):
        super().__init__()
        x, y = np.asarray(x), None if y is None else np.asarray(y)
        if y is not None and len(x) != len(y):
            raise ValueError(f"x (images) and y (labels) should have the same length; found "
                             f"x.shape = {x.shape}, y.shape = {y.shape}")
        if sample_weight is not None and len(x) != len(sample_weight):
            raise ValueError(f"x and sample_weight should have the same length; found "
                             f"{len(x)} and {len(sample_weight)}")
        if subset is not None:
            x, y, sample_weight = _split(x, y, sample_weight, subset,
                                         generator._validation_split, ignore_class_split)
        self.x = np.asarray(x, dtype=dtype)
        if self.x.ndim != 4:
            raise ValueError(f"flow takes images of rank 4 (N, H, W, C); got shape "
                             f"{self.x.shape}")
        self.y = y
        self.sample_weight = None if sample_weight is None else np.asarray(sample_weight)
        self.generator = generator
        self.n, self.batch_size, self.shuffle, self.seed = len(self.x), batch_size, shuffle, seed
        self.batch_index = self.total_batches_seen = 0
        self.index_array = None
        self._lock = threading.Lock()
        self._index_generator = self._flow_index()

    def __len__(self) -> int:
        return (self.n + self.batch_size - 1) // self.batch_size

    def _set_index_array(self):
        self.index_array = np.random.permutation(self.n) if self.shuffle else np.arange(self.n)

    def __getitem__(self, idx: int):
        if idx >= len(self):
            raise ValueError(f"asked for batch {idx}, but the iterator has {len(self)}")
        if self.seed is not None:
            np.random.seed(self.seed + self.total_batches_seen)
        self.total_batches_seen += 1
        if self.index_array is None:
            self._set_index_array()
        return self._batch(self.index_array[self.batch_size * idx:self.batch_size * (idx + 1)])

    def on_epoch_end(self):
        self._set_index_array()

    def _flow_index(self):
        """The legacy endless index stream (each epoch reshuffled)."""
        self.batch_index = 0
        while True:
            if self.seed is not None:
                np.random.seed(self.seed + self.total_batches_seen)
            if self.batch_index == 0:
                self._set_index_array()
            start = (self.batch_index * self.batch_size) % self.n if self.n else 0
            self.batch_index = self.batch_index + 1 if self.n > start + self.batch_size else 0
            self.total_batches_seen += 1
            yield self.index_array[start:start + self.batch_size]

    def __iter__(self):
        return self

    def __next__(self):
        with self._lock:
            index_array = next(self._index_generator)
        return self._batch(index_array)

    def _batch(self, index_array):
        batch_x = self.generator._transform_batch(self.x[index_array])
        if self.y is None:
            return batch_x
        out = (batch_x, self.y[index_array])
        if self.sample_weight is not None:
            out += (self.sample_weight[index_array],)
        return out


def _split(x, y, sample_weight, subset, validation_split, ignore_class_split):
    """The legacy ``validation_split``: the first share is 'validation', the rest
    'training' (shuffle the arrays first if they are sorted by label)."""
    if subset not in ("training", "validation"):
        raise ValueError(f"subset must be 'training' or 'validation', got {subset!r}")
    cut = int(len(x) * validation_split)
    if (y is not None and not ignore_class_split
            and not np.array_equal(np.unique(y[:cut]), np.unique(y[cut:]))):
        raise ValueError("the training and validation subsets have different classes after "
                         "the split; if the arrays are sorted by label, shuffle them first")
    part = slice(None, cut) if subset == "validation" else slice(cut, None)
    return (x[part], None if y is None else y[part],
            None if sample_weight is None else np.asarray(sample_weight)[part])
