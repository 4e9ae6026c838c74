"""Normalizers against scikit-learn's StandardScaler and Keras's legacy ImageDataGenerator."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import StandardScaler

from fer_kit.preprocess import (Chain, FeaturewiseNormalizer, Rescale, SamplewiseNormalizer,
                                load_normalizer, make_normalizer, value_range)


@pytest.fixture
def x(rng):
    return rng.integers(0, 256, (64, 48, 48, 1)).astype(np.uint8)


def test_featurewise_per_pixel_equals_standard_scaler(x):
    ours = FeaturewiseNormalizer(eps=0).fit(x[:48]).transform(x[48:])
    flat = x.reshape(64, -1).astype(np.float64)
    ref = StandardScaler().fit(flat[:48]).transform(flat[48:]).reshape(16, 48, 48, 1)
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-4)


def test_featurewise_per_channel_equals_image_data_generator(x):
    from tensorflow.keras.preprocessing.image import ImageDataGenerator
    gen = ImageDataGenerator(featurewise_center=True, featurewise_std_normalization=True)
    gen.fit(x.astype(np.float32))
    ref = gen.standardize(x[:8].astype(np.float32).copy())
    ours = FeaturewiseNormalizer(per="channel").fit(x).transform(x[:8])
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-4)


def test_samplewise_equals_image_data_generator_and_blank_is_zero(x):
    from tensorflow.keras.preprocessing.image import ImageDataGenerator
    gen = ImageDataGenerator(samplewise_center=True, samplewise_std_normalization=True)
    ref = np.stack([gen.standardize(img.astype(np.float32).copy()) for img in x[:8]])
    ours = SamplewiseNormalizer().fit_transform(x[:8])
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-4)
    blank = np.zeros((2, 48, 48, 1), np.uint8)
    out = SamplewiseNormalizer().transform(blank)
    assert np.isfinite(out).all() and (out == 0).all()
    per_image = SamplewiseNormalizer().transform(x)
    np.testing.assert_allclose(per_image.mean(axis=(1, 2, 3)), 0, atol=1e-4)
    np.testing.assert_allclose(per_image.std(axis=(1, 2, 3)), 1, atol=1e-4)


def test_unfitted_featurewise_raises():
    with pytest.raises(NotFittedError, match="fit"):
        FeaturewiseNormalizer().transform(np.zeros((1, 48, 48, 1)))


def test_constant_pixel_does_not_blow_up(x):
    x = x.copy()
    x[:, 0, 0, 0] = 7
    out = FeaturewiseNormalizer().fit_transform(x)
    assert np.isfinite(out).all() and (out[:, 0, 0, 0] == 0).all()


def test_inverse_save_load_and_keras_layer(tmp_path, x):
    norm = FeaturewiseNormalizer().fit(x)
    assert norm.mean_.shape == (48, 48, 1) and norm.n_samples_seen_ == 64
    z = norm.transform(x)
    np.testing.assert_allclose(norm.inverse_transform(z), x, atol=1e-3)
    loaded = FeaturewiseNormalizer.load(norm.save(tmp_path / "stats.npz"))
    np.testing.assert_array_equal(loaded.transform(x), z)
    np.testing.assert_allclose(np.asarray(norm.to_layer()(x.astype(np.float32))), z,
                               rtol=1e-4, atol=1e-4)
    chan = FeaturewiseNormalizer(per="channel").fit(x)
    np.testing.assert_allclose(np.asarray(chan.to_layer()(x.astype(np.float32))),
                               chan.transform(x), rtol=1e-4, atol=1e-4)
    samp = SamplewiseNormalizer()
    np.testing.assert_allclose(np.asarray(samp.to_layer()(x.astype(np.float32))),
                               samp.transform(x), rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="not a SamplewiseNormalizer"):
        SamplewiseNormalizer.load(tmp_path / "stats.npz")


def test_chain_is_samplewise_then_featurewise(x):
    chain = make_normalizer("samplewise+featurewise")
    assert isinstance(chain, Chain)
    s = SamplewiseNormalizer().transform(x)
    ref = FeaturewiseNormalizer().fit(s).transform(s)
    np.testing.assert_allclose(chain.fit(x).transform(x), ref, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(chain.to_layer()(x.astype(np.float32))), ref,
                               rtol=1e-3, atol=1e-3)
    assert make_normalizer("none") is None
    with pytest.raises(ValueError, match="unknown normalization 'zca'"):
        make_normalizer("zca")


def test_rescale_equals_image_data_generator_and_goes_first(tmp_path, x):
    from tensorflow.keras.preprocessing.image import ImageDataGenerator
    idg = ImageDataGenerator(rescale=1 / 255)
    ref = np.stack([idg.standardize(img.astype(np.float32)) for img in x])
    ours = make_normalizer("none", rescale=1 / 255).fit(x)
    assert isinstance(ours, Rescale)
    np.testing.assert_allclose(ours.transform(x), ref, rtol=1e-6)
    np.testing.assert_allclose(ours.inverse_transform(ours.transform(x)), x, atol=1e-4)
    np.testing.assert_allclose(np.asarray(ours.to_layer()(x.astype(np.float32))), ref, rtol=1e-6)
    back = load_normalizer(ours.save(tmp_path / "r.npz"))
    assert isinstance(back, Rescale) and back.scale == pytest.approx(1 / 255)
    # ImageDataGenerator's order: rescale, then standardization
    chain = make_normalizer("samplewise+featurewise", rescale=1 / 255)
    assert [type(s).__name__ for s in chain.steps] == ["Rescale", "SamplewiseNormalizer",
                                                       "FeaturewiseNormalizer"]
    assert make_normalizer("none", rescale=None) is None
    assert make_normalizer("none", rescale=1) is None
    assert value_range(None) == (0, 255) and value_range(ours) == pytest.approx((0, 1))
    assert value_range(chain) is None


def test_bad_shape_is_explained():
    with pytest.raises(ValueError, match=r"\(N, H, W, C\)"):
        SamplewiseNormalizer().transform(np.zeros((48, 48)))
