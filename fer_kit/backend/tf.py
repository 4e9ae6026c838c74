"""What only TensorFlow has: tf.data input for ``fit``, and Keras 2's ImageDataGenerator.

Nothing here imports TensorFlow at module level: the kit loads this module on every
backend, and TensorFlow loads only when one of these functions is called (on TensorFlow,
or for a legacy reference in the tests).
"""
from __future__ import annotations

import numpy as np


def image_data_generator() -> type:
    """Keras 2's ``ImageDataGenerator`` class, from ``tensorflow.keras`` (deprecated).

    Keras 3 keeps it only behind TensorFlow's ``tf.keras`` alias (its own copy is private,
    ``keras.src.legacy``); the kit's backend-free reimplementation is
    ``fer_kit.legacy.preprocessing.image.ImageDataGenerator``.
    """
    # optional: TensorFlow, where it is installed (the legacy generator's reference)
    from tensorflow.keras.preprocessing.image import ImageDataGenerator
    return ImageDataGenerator


def epoch_dataset(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int, epoch: int):
    """Each epoch's batches as a tf.data pipeline, in an order fixed by (seed, epoch).

    The epoch's permutation is TensorFlow's stateless shuffle of (seed, epoch), gathered a
    batch at a time in parallel, as Keras's own array path does (its order differs from
    the NumPy one other backends use; each is fixed by (seed, epoch)). Keras feeds a
    PyDataset to TensorFlow through ``from_generator``, one Python call per batch: 2-3 ms
    a batch of 128 on the 2-core machine, against 0.6-0.8 ms for this path, which a GPU
    would wait for.

    Args:
        x, y: the training images (N, H, W, C) and labels (N,).
        batch_size: images per batch; the last batch holds the remainder.
        seed: fixes every epoch's order.
        epoch: the first epoch.

    Returns:
        (dataset, epoch_variable): the dataset reads ``epoch_variable`` (an int64
        ``tf.Variable``) when an epoch's iterator starts; assign the next epoch to it
        before then (``fer_kit.train.epochs.EpochSeeds`` does, at each epoch's start).
    """
    import tensorflow as tf  # optional: TensorFlow only, this is its input path
    epoch_var = tf.Variable(int(epoch), dtype=tf.int64, trainable=False)
    n, bs, seed = len(x), int(batch_size), int(seed)
    full = n // bs

    def batches(_):  # runs when an epoch's iterator starts, after the epoch was assigned
        idx = tf.random.experimental.stateless_shuffle(
            tf.range(n, dtype=tf.int64), seed=tf.stack([tf.constant(seed, tf.int64), epoch_var]))
        ds = tf.data.Dataset.from_tensor_slices(tf.reshape(idx[:full * bs], [full, bs]))
        return ds.concatenate(tf.data.Dataset.from_tensors(idx[full * bs:])) \
            if n % bs else ds

    data = tf.data.Dataset.from_tensors((tf.constant(x), tf.constant(y))).repeat()
    ds = tf.data.Dataset.zip((tf.data.Dataset.range(1).map(batches).flat_map(lambda d: d),
                              data))
    ds = ds.map(lambda i, xy: (tf.gather(xy[0], i), tf.gather(xy[1], i)),
                num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    options = tf.data.Options()  # as Keras's array path: no graph rewriting per epoch
    options.experimental_optimization.apply_default_optimizations = False
    return (ds.with_options(options)
            .apply(tf.data.experimental.assert_cardinality(-(-n // bs)))
            .prefetch(tf.data.AUTOTUNE), epoch_var)
