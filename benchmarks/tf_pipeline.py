"""tf.data assembly: uint8 arrays -> float -> augment (training only) -> normalize -> batches.

TensorFlow only, and used only by the benchmarks (``bench_augment.py``, ``bench_train.py``):
the kit itself trains from NumPy arrays on every backend, with the augmentation as a layer
in the model (``fer_kit.augment.RandomAffine``). It was ``fer_kit.pipeline`` until the
backend code moved into ``fer_kit.backend`` (issue 23); tests/test_tf_pipeline.py tests it.

The order is ImageDataGenerator's (random_transform, then standardize), but the
work is batched and runs in parallel with training (map on whole batches,
prefetch). Deterministic for a seed: shuffling and augmentation draw from seeds
fixed by ``seed``, and differ from epoch to epoch.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from fer_kit.augment import AugmentConfig, sample_params, transform_vectors
from fer_kit.backend.warp import warp_tf
from fer_kit.preprocess import Chain, FeaturewiseNormalizer, Rescale, SamplewiseNormalizer


def sample_tf(cfg: AugmentConfig, batch: int, height: int, width: int, seed):
    """``sample_params`` with TensorFlow's stateless RNG (seed: (2,) int), for tf.data."""
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 6)
    return sample_params(cfg, height, width,
                         lambda k, lo, hi: tf.random.stateless_uniform([batch], seeds[k], lo, hi),
                         tf)


def augment_batch_tf(images, cfg: AugmentConfig, seed):
    """Randomly augment a float batch (B, H, W, C) in TensorFlow (for tf.data)."""
    if cfg.is_identity:
        return images
    shape = tf.shape(images)
    h, w = images.shape[1], images.shape[2]
    params = sample_tf(cfg, shape[0], h, w, seed)
    return warp_tf(images, transform_vectors(*params, h, w, tf), cfg.fill_mode, cfg.cval)


def normalize_tf(normalizer):
    """The fitted normalizer as a TensorFlow function on float batches (B, H, W, C)."""
    if normalizer is None:
        return lambda x: x
    if isinstance(normalizer, Chain):
        fns = [normalize_tf(step) for step in normalizer.steps]

        def chain(x):
            for fn in fns:
                x = fn(x)
            return x
        return chain
    if isinstance(normalizer, FeaturewiseNormalizer):
        normalizer._check()
        mean = tf.constant(normalizer.mean_, tf.float32)
        scale = tf.constant(1.0 / (normalizer.std_ + normalizer.eps), tf.float32)
        return lambda x: (x - mean) * scale
    if isinstance(normalizer, Rescale):
        return lambda x: x * normalizer.scale
    if isinstance(normalizer, SamplewiseNormalizer):
        eps = normalizer.eps

        def samplewise(x):
            mean, var = tf.nn.moments(x, axes=[1, 2, 3], keepdims=True)
            return (x - mean) / tf.maximum(tf.sqrt(var), eps)
        return samplewise
    raise TypeError(f"unsupported normalizer {type(normalizer).__name__}")


def make_dataset(x: np.ndarray, y: np.ndarray | None = None, *, normalizer=None,
                 augment: AugmentConfig | None = None, batch_size: int = 128,
                 shuffle: bool = False, seed: int = 0, drop_remainder: bool = False
                 ) -> tf.data.Dataset:
    """Build the input pipeline.

    Args:
        x: uint8 (or float) images (N, H, W, C).
        y: integer labels (N,), or None for prediction.
        normalizer: a fitted normalizer from ``fk.preprocess`` (or None).
        augment: AugmentConfig for training batches (or None).
        batch_size: images per batch.
        shuffle: reshuffle every epoch (training).
        seed: fixes shuffling and augmentation.

    Returns:
        A tf.data.Dataset of float32 batches (and int32 labels).
    """
    if len(x) == 0:
        raise ValueError("cannot build a dataset from 0 images (is the split empty?)")
    if y is not None and len(y) != len(x):
        raise ValueError(f"x has {len(x)} images but y has {len(y)} labels")
    labeled = y is not None
    ds = tf.data.Dataset.from_tensor_slices((x, np.asarray(y, np.int32)) if labeled else x)
    if shuffle:
        ds = ds.shuffle(min(len(x), 20_000), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    norm = normalize_tf(normalizer)
    aug = augment if augment is not None and not augment.is_identity else None
    # One (2,) seed per batch from a seeded stream that changes every epoch.
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)

    def prepare(batch, seed_pair):
        images, labels = batch if labeled else (batch, None)
        images = tf.cast(images, tf.float32)
        if aug is not None:
            images = augment_batch_tf(images, aug, seed_pair)
        images = norm(images)
        return (images, labels) if labeled else images

    ds = tf.data.Dataset.zip((ds, seeds)).map(prepare, num_parallel_calls=tf.data.AUTOTUNE,
                                              deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)
