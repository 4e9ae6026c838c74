"""Each epoch's random draws from (seed, epoch) alone, so a resumed run continues the
uninterrupted one.

``EpochBatches`` orders the training images by a permutation drawn from (seed, epoch),
and ``EpochSeeds`` sets every Keras ``SeedGenerator`` in the model (augmentation,
dropout) from them at the start of the epoch, and on PyTorch torch's global generator,
from which Keras's dropout draws there. A run resumed at epoch k therefore draws
what epoch k of the uninterrupted run draws, and with ``callbacks.Backup`` restoring
weights and optimizer, it continues that run. (Keras's own shuffle cannot do this: on
TensorFlow, with a seed set, it gives the same order every epoch, and a fresh process
restarts its generators.)
"""
from __future__ import annotations

import keras
import numpy as np

from .. import backend
from ..backend.tf import epoch_dataset


#: the stream of the backend's global generator (PyTorch's dropout draws from it)
GLOBAL_STREAM = 2 ** 16


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
        # PyTorch's dropout draws from torch's global generator instead: seed that too
        backend.seed_global_generator(epoch_rng(self.seed, epoch, GLOBAL_STREAM).integers(2 ** 31))
