"""Augmentation against the legacy ImageDataGenerator, the Keras layer, and the pipeline."""
from __future__ import annotations

import numpy as np
import pytest

from fer_kit import augment, pipeline
from fer_kit.augment import AugmentConfig
from fer_kit.preprocess import FeaturewiseNormalizer, SamplewiseNormalizer, make_normalizer

PARAMS = [{"theta": 20}, {"tx": 4.5}, {"ty": -3}, {"zx": 1.1, "zy": 0.9},
          {"flip_horizontal": 1},
          {"theta": -13, "tx": 3, "ty": -2, "zx": 0.95, "zy": 1.08, "flip_horizontal": 1}]


@pytest.fixture(scope="module")
def faces():
    from fer_kit.data import synth
    return synth.generate(6, seed=0).x.astype(np.float32)


@pytest.mark.parametrize("params", PARAMS)
def test_matches_legacy_apply_transform(faces, params):
    gen = AugmentConfig().to_image_data_generator()
    ref = np.stack([gen.apply_transform(img, params) for img in faces])
    ours = augment.apply_params(faces, params)
    np.testing.assert_allclose(ours[:, 2:-2, 2:-2], ref[:, 2:-2, 2:-2], atol=1e-2)


def test_layer_applies_the_same_warp_as_tf(faces):
    import keras
    vec = augment.transform_vectors(np.array([17.0]), np.array([2.0]), np.array([-1.5]),
                                    np.array([1.05]), np.array([0.97]), np.array([1.0]),
                                    48, 48, keras.ops)
    ours = keras.ops.image.affine_transform(faces[:1], vec, fill_mode="nearest")
    ref = augment.apply_params(faces[:1], {"theta": 17, "tx": 2, "ty": -1.5, "zx": 1.05,
                                           "zy": 0.97, "flip_horizontal": 1})
    np.testing.assert_allclose(np.asarray(ours), ref, atol=1e-2)


def test_layer_is_identity_at_inference_and_random_in_training(faces):
    layer = AugmentConfig.seed003().to_layer(seed=1)
    np.testing.assert_array_equal(np.asarray(layer(faces, training=False)), faces)
    out = np.asarray(layer(faces, training=True))
    assert out.shape == faces.shape and not np.allclose(out, faces)


def test_random_draws_stay_in_range():
    import tensorflow as tf
    cfg = AugmentConfig(rotation_range=20, width_shift_range=0.1, height_shift_range=0.2,
                        horizontal_flip=True, zoom_range=0.1)
    theta, tx, ty, zx, zy, flip = (t.numpy() for t in augment.sample_tf(cfg, 4000, 48, 48,
                                                                       tf.constant([1, 2])))
    assert np.abs(theta).max() <= 20 and np.abs(theta).max() > 19
    assert np.abs(tx).max() <= 4.8 and np.abs(ty).max() <= 9.6 and np.abs(ty).max() > 9
    assert 0.9 <= zx.min() and zx.max() <= 1.1
    assert 0.45 < flip.mean() < 0.55


def test_bad_config_is_refused():
    with pytest.raises(ValueError, match="fill_mode"):
        AugmentConfig(fill_mode="mirror-ish")
    with pytest.raises(ValueError, match="rotation_range must be >= 0"):
        AugmentConfig(rotation_range=-1)


@pytest.mark.parametrize("kw,where", [
    ({"shear_range": 0.2}, r"shear_range: use fer_kit\.legacy\.preprocessing\.image\.Image"),
    ({"data_format": "channels_last"}, r"data_format: use fer_kit\.legacy"),
    ({"featurewise_center": True}, r"featurewise_center: use fer_kit\.preprocess"),
    ({"rescale": 1 / 255}, r"rescale: use fer_kit\.preprocess\.Rescale")])
def test_an_image_data_generator_argument_is_refused_naming_where_it_went(kw, where):
    with pytest.raises(TypeError, match=where):
        AugmentConfig(rotation_range=10, **kw)
    import dataclasses
    cfg = AugmentConfig(rotation_range=10)  # what it takes still works, copies too
    assert dataclasses.replace(cfg, zoom_range=0.1).zoom_range == 0.1


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


@pytest.mark.parametrize("channels", [1, 3])
def test_fast_nearest_warp_equals_tensorflows_op(channels):
    # the XLA gather warp (fill 'nearest') against ImageProjectiveTransformV3, random
    # rotations, shifts, zooms and flips, interior and edges alike
    import tensorflow as tf
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 255, (16, 20, 24, channels)).astype(np.float32)
    cfg = AugmentConfig(rotation_range=40, width_shift_range=0.3, height_shift_range=0.3,
                        horizontal_flip=True, zoom_range=0.3)
    vec = augment.transform_vectors(*augment.sample_tf(cfg, 16, 20, 24, tf.constant([4, 2])),
                                    20, 24, tf)
    ref = tf.raw_ops.ImageProjectiveTransformV3(
        images=x, transforms=tf.cast(vec, tf.float32), output_shape=[20, 24], fill_value=0.0,
        interpolation="BILINEAR", fill_mode="NEAREST").numpy()
    ours = augment.warp_tf(tf.constant(x), vec, cfg).numpy()
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, atol=1e-2)
    assert np.abs(ours - x).max() > 50  # the transforms really moved the pixels


def test_warp_falls_back_to_tensorflows_op_without_xla(monkeypatch):
    import tensorflow as tf
    x = np.random.default_rng(0).uniform(0, 255, (2, 12, 12, 1)).astype(np.float32)
    vec = augment.transform_vectors(tf.constant([30.0, -10.0]), tf.constant([1.5, 0.0]),
                                    tf.constant([0.0, -2.0]), tf.ones(2), tf.ones(2),
                                    tf.constant([0.0, 1.0]), 12, 12, tf)
    fast = augment.warp_tf(tf.constant(x), vec, AugmentConfig()).numpy()
    monkeypatch.setattr(augment, "_XLA_WARP", [None])  # a build without XLA
    slow = augment.warp_tf(tf.constant(x), vec, AugmentConfig()).numpy()
    np.testing.assert_allclose(fast, slow, atol=1e-2)


@pytest.mark.parametrize("fill_mode, cval", [("nearest", 0.0), ("constant", 0.0),
                                             ("constant", 77.0)])
def test_torch_grid_sample_warp_equals_tensorflows_op(fill_mode, cval):
    """The PyTorch backend's warp (one grid_sample) against TensorFlow's
    ImageProjectiveTransformV3: random rotations, shifts, zooms and flips, edges included."""
    torch = pytest.importorskip("torch")
    import tensorflow as tf
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 255, (16, 20, 24, 2)).astype(np.float32)
    cfg = AugmentConfig(rotation_range=40, width_shift_range=0.3, height_shift_range=0.3,
                        horizontal_flip=True, zoom_range=0.3, fill_mode=fill_mode, cval=cval)
    vec = augment.transform_vectors(*augment.sample_tf(cfg, 16, 20, 24, tf.constant([7, 1])),
                                    20, 24, tf)
    ref = tf.raw_ops.ImageProjectiveTransformV3(
        images=x, transforms=tf.cast(vec, tf.float32), output_shape=[20, 24],
        fill_value=cval, interpolation="BILINEAR", fill_mode=fill_mode.upper()).numpy()
    ours = augment.warp_torch(torch.from_numpy(x), torch.from_numpy(vec.numpy()), cfg).numpy()
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, atol=1e-2)  # measured: within 5e-4, edges too
    assert np.abs(ours - x).max() > 50  # the transforms really moved the pixels
