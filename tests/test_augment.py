"""Augmentation against the legacy ImageDataGenerator and the Keras layer.

The warp itself, per backend, is tested in test_backend.py; the tf.data pipeline (now in
benchmarks/) in test_tf_pipeline.py."""
from __future__ import annotations

import numpy as np
import pytest

from fer_kit import augment
from fer_kit.augment import AugmentConfig

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
    # the layer's draws: keras.random on the running backend
    import keras
    cfg = AugmentConfig(rotation_range=20, width_shift_range=0.1, height_shift_range=0.2,
                        horizontal_flip=True, zoom_range=0.1)
    gen = keras.random.SeedGenerator(1)
    params = augment.sample_params(cfg, 48, 48, lambda k, lo, hi: keras.random.uniform(
        (4000,), lo, hi, seed=gen), keras.ops)
    theta, tx, ty, zx, zy, flip = (keras.ops.convert_to_numpy(t) for t in params)
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
