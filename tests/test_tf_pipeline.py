"""The tf.data pipeline of the benchmarks (benchmarks/tf_pipeline.py, once fer_kit.pipeline):
it normalizes as the normalizers do, is fixed by its seed, and draws in range.

TensorFlow only and the same on every Keras backend, so it runs in the first pass only.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from fer_kit.augment import AugmentConfig
from fer_kit.preprocess import FeaturewiseNormalizer, SamplewiseNormalizer, make_normalizer

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.one_pass
_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "tf_pipeline.py"
_spec = importlib.util.spec_from_file_location("tf_pipeline", _PATH)
pipeline = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pipeline)


def test_random_draws_stay_in_range():
    import tensorflow as tf
    cfg = AugmentConfig(rotation_range=20, width_shift_range=0.1, height_shift_range=0.2,
                        horizontal_flip=True, zoom_range=0.1)
    theta, tx, ty, zx, zy, flip = (t.numpy() for t in pipeline.sample_tf(cfg, 4000, 48, 48,
                                                                        tf.constant([1, 2])))
    assert np.abs(theta).max() <= 20 and np.abs(theta).max() > 19
    assert np.abs(tx).max() <= 4.8 and np.abs(ty).max() <= 9.6 and np.abs(ty).max() > 9
    assert 0.9 <= zx.min() and zx.max() <= 1.1
    assert 0.45 < flip.mean() < 0.55


def _take_all(ds):
    xs, ys = [], []
    for xb, yb in ds:
        xs.append(xb.numpy())
        ys.append(yb.numpy())
    return np.concatenate(xs), np.concatenate(ys)


def test_pipeline_normalizes_like_the_normalizer(rng):
    x = rng.integers(0, 256, (70, 48, 48, 1), dtype=np.uint8)
    y = rng.integers(0, 7, 70)
    for name, rescale in (("featurewise", None), ("samplewise", None),
                          ("samplewise+featurewise", None), ("none", 1 / 255),
                          ("featurewise", 1 / 255)):
        norm = make_normalizer(name, rescale).fit(x)
        xb, yb = _take_all(pipeline.make_dataset(x, y, normalizer=norm, batch_size=32))
        np.testing.assert_allclose(xb, norm.transform(x), rtol=1e-4, atol=1e-4)
        np.testing.assert_array_equal(yb, y)


def test_pipeline_is_deterministic_and_changes_per_epoch(rng):
    x = rng.integers(0, 256, (64, 48, 48, 1), dtype=np.uint8)
    y = np.arange(64) % 7
    def make():
        return pipeline.make_dataset(x, y, augment=AugmentConfig.seed003(), batch_size=16,
                                     shuffle=True, seed=5, normalizer=SamplewiseNormalizer())
    a, b = make(), make()
    a1, b1 = _take_all(a), _take_all(b)
    np.testing.assert_array_equal(a1[0], b1[0])
    a2 = _take_all(a)  # second epoch of the same dataset: new order, new warps
    assert not np.array_equal(a1[1], a2[1]) and not np.allclose(a1[0], a2[0])
    assert sorted(a2[1].tolist()) == sorted(y.tolist())


def test_pipeline_errors(rng):
    with pytest.raises(ValueError, match="0 images"):
        pipeline.make_dataset(np.zeros((0, 48, 48, 1), np.uint8))
    with pytest.raises(ValueError, match="3 images but y has 2"):
        pipeline.make_dataset(np.zeros((3, 48, 48, 1), np.uint8), np.zeros(2))
    ds = pipeline.make_dataset(np.zeros((3, 48, 48, 1), np.uint8),
                               normalizer=FeaturewiseNormalizer().fit(rng.random((4, 48, 48, 1))))
    assert next(iter(ds)).shape == (3, 48, 48, 1)
