"""fer_kit.legacy: Keras 2's ImageDataGenerator (and np_utils, generic_utils, predict_classes)
against the legacy class itself.

The reference is Keras's own legacy ImageDataGenerator (keras/src/legacy/preprocessing/
image.py: NumPy and scipy, the class ``tf.keras.preprocessing.image`` exports), so these
comparisons run on every backend, and check the kit's warp on each."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from fer_kit.legacy import predict_classes, predict_proba
from fer_kit.legacy.preprocessing.image import ImageDataGenerator
from fer_kit.legacy.utils import generic_utils, np_utils

legacy = pytest.importorskip("keras.src.legacy.preprocessing.image")
Legacy = legacy.ImageDataGenerator

AUGMENT = dict(rotation_range=30, width_shift_range=0.2, height_shift_range=0.1, shear_range=15,
               zoom_range=[0.8, 1.2], horizontal_flip=True, vertical_flip=True,
               channel_shift_range=20)


@pytest.fixture(scope="module")
def faces():
    from fer_kit.data import synth
    return synth.generate(24, seed=0).x.astype(np.float32)


def _images(kind, data_format="channels_last"):
    rng = np.random.default_rng(0)
    x = (rng.integers(0, 256, (6, 40, 56, 3)) if kind == "rgb" else
         rng.integers(0, 256, (6, 48, 48, 1))).astype(np.float32)
    return x if data_format == "channels_last" else np.moveaxis(x, -1, 1)


@pytest.mark.parametrize("kw", [AUGMENT, dict(width_shift_range=3, height_shift_range=[-2, 5],
                                              zoom_range=0.1),
                                dict(rotation_range=10, horizontal_flip=True)])
def test_random_parameters_are_the_legacy_draws(kw):
    ours, ref = ImageDataGenerator(**kw), Legacy(**kw)
    for seed in range(5):
        assert ours.get_random_transform((48, 48, 1), seed=seed) == \
            ref.get_random_transform((48, 48, 1), seed=seed)


@pytest.mark.parametrize("fill_mode", ["nearest", "constant", "reflect"])
@pytest.mark.parametrize("kind,data_format", [("gray", "channels_last"), ("rgb", "channels_last"),
                                              ("rgb", "channels_first")])
def test_apply_transform_equals_the_legacy_image(fill_mode, kind, data_format):
    """Every pixel, borders included, non-square images, shear and both flips."""
    kw = dict(AUGMENT, fill_mode=fill_mode, cval=7.0, data_format=data_format)
    ours, ref = ImageDataGenerator(**kw), Legacy(**kw)
    for i, img in enumerate(_images(kind, data_format)):
        params = ref.get_random_transform(img.shape, seed=i)
        np.testing.assert_allclose(ours.apply_transform(img, params),
                                   ref.apply_transform(img, params), atol=2e-3)
        np.testing.assert_allclose(ours.random_transform(img, seed=i),
                                   ref.random_transform(img, seed=i), atol=2e-3)


def test_a_warp_that_moves_nothing_copies(faces):
    ours = ImageDataGenerator()
    np.testing.assert_array_equal(ours.apply_transform(faces[0], {"flip_horizontal": 1}),
                                  faces[0][:, ::-1])
    np.testing.assert_array_equal(ours.apply_transform(faces[0], {}), faces[0])


def _first_batches(it, n=3, getitem=True):
    return [it[i] if getitem else next(it) for i in range(min(n, len(it)))]


@pytest.mark.parametrize("kw", [
    dict(AUGMENT, featurewise_center=True, featurewise_std_normalization=True),
    dict(rotation_range=20, width_shift_range=0.1, horizontal_flip=True, rescale=1 / 255.,
         samplewise_center=True, samplewise_std_normalization=True, validation_split=0.25),
    dict(zoom_range=0.1, preprocessing_function=lambda im: im[::-1] * 0.5, rescale=2.0)])
def test_flow_gives_the_legacy_batches(faces, kw):
    y = np.arange(len(faces)) % 7
    ours, ref = ImageDataGenerator(**kw), Legacy(**kw)
    if kw.get("featurewise_center"):
        ours.fit(faces)
        ref.fit(faces)
    subsets = ["training", "validation"] if kw.get("validation_split") else [None]
    for subset in subsets:
        for getitem in (True, False):
            a = _first_batches(ours.flow(faces, y, batch_size=5, seed=3, subset=subset,
                                         ignore_class_split=True), getitem=getitem)
            b = _first_batches(ref.flow(faces, y, batch_size=5, seed=3, subset=subset,
                                        ignore_class_split=True), getitem=getitem)
            for (xa, ya), (xb, yb) in zip(a, b):
                np.testing.assert_array_equal(ya, yb)
                np.testing.assert_allclose(xa, xb, atol=2e-3 * max(1.0, np.abs(xb).max() / 255))


def test_fit_statistics_and_standardize_equal_the_legacy(faces):
    kw = dict(featurewise_center=True, featurewise_std_normalization=True, rescale=1 / 255.)
    ours, ref = ImageDataGenerator(**kw), Legacy(**kw)
    ours.fit(faces)
    ref.fit(faces)
    np.testing.assert_allclose(ours.mean, ref.mean, rtol=1e-6)
    np.testing.assert_allclose(ours.std, ref.std, rtol=1e-6)
    batch = faces[:4].copy()
    expected = ref.standardize(faces[:4].copy())
    out = ours.standardize(batch)
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    assert out is batch  # in place, as the legacy class documents
    with pytest.warns(UserWarning, match="zca_whitening"):
        zca, zref = ImageDataGenerator(zca_whitening=True), Legacy(zca_whitening=True)
    small = faces[:10, ::4, ::4]
    zca.fit(small)
    zref.fit(small)
    np.testing.assert_allclose(zca.zca_whitening_matrix, zref.zca_whitening_matrix, atol=1e-3)
    np.testing.assert_allclose(zca.standardize(small[:2].copy()),
                               zref.standardize(small[:2].copy()), atol=1e-3)
    aug, aref = ImageDataGenerator(**AUGMENT, featurewise_center=True), Legacy(
        **AUGMENT, featurewise_center=True)
    aug.fit(faces[:6], augment=True, rounds=2, seed=1)
    aref.fit(faces[:6], augment=True, rounds=2, seed=1)
    np.testing.assert_allclose(aug.mean, aref.mean, atol=1e-3)


def test_unfitted_featurewise_warns_as_the_legacy_class(faces):
    ours = ImageDataGenerator(featurewise_center=True)
    with pytest.warns(UserWarning, match="hasn't been fit"):
        ours.standardize(faces[:1].copy())


def test_model_fit_takes_flow_on_this_backend(faces):
    """``model.fit_generator(datagen.flow(...))`` becomes ``model.fit(datagen.flow(...))``."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((48, 48, 1)), keras.layers.Conv2D(4, 3, strides=4),
                              keras.layers.Flatten(), keras.layers.Dense(7, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    y = np_utils.to_categorical(np.arange(len(faces)) % 7, 7)
    datagen = ImageDataGenerator(rotation_range=10, horizontal_flip=True, rescale=1 / 255.)
    hist = model.fit(datagen.flow(faces, y, batch_size=8), steps_per_epoch=3, epochs=2,
                     verbose=0)
    assert len(hist.history["loss"]) == 2 and np.isfinite(hist.history["loss"]).all()
    for i, (xb, yb) in enumerate(datagen.flow(faces, y, batch_size=10)):  # endless, as Keras 2
        assert xb.shape[1:] == (48, 48, 1) and xb.max() <= 1.0 + 1e-6
        if i == 3:
            break
    assert predict_classes(model, faces[:5]).shape == (5,)


def test_refusals_name_what_to_use_instead(faces):
    with pytest.raises(NotImplementedError, match="RandomBrightness"):
        ImageDataGenerator(brightness_range=(0.5, 1.5))
    with pytest.raises(NotImplementedError, match="size - 1"):
        ImageDataGenerator(fill_mode="wrap")
    with pytest.raises(NotImplementedError, match="bilinear"):
        ImageDataGenerator(interpolation_order=0)
    with pytest.raises(ValueError, match="data_format"):
        ImageDataGenerator(data_format="channels_middle")
    with pytest.raises(ValueError, match="validation_split"):
        ImageDataGenerator(validation_split=1.5)
    with pytest.raises(NotImplementedError, match="image_dataset_from_directory"):
        ImageDataGenerator().flow_from_directory("faces/")
    with pytest.raises(NotImplementedError, match="save_img"):
        ImageDataGenerator().flow(faces, save_to_dir="out")
    with pytest.raises(ValueError, match="different classes"):
        ImageDataGenerator(validation_split=0.5).flow(faces, np.sort(np.arange(24) % 2),
                                                      subset="training")


def test_keras2_utils_and_predict_classes():
    y = np.array([0, 3, 6, 3])
    np.testing.assert_array_equal(np_utils.to_categorical(y, 7), np.eye(7)[y])
    assert generic_utils.Progbar is keras.utils.Progbar
    keras.utils.set_random_seed(1)
    soft = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    sig = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    x = np.random.default_rng(0).normal(size=(20, 4)).astype("float32")
    np.testing.assert_array_equal(predict_classes(soft, x), soft.predict(x, verbose=0).argmax(-1))
    p = sig.predict(x, verbose=0)
    assert 0 < (p > 0.5).sum() < 20  # both classes occur: the threshold is tested
    np.testing.assert_array_equal(predict_classes(sig, x), (p > 0.5).astype("int32"))
    np.testing.assert_allclose(predict_proba(soft, x), soft.predict(x, verbose=0))


@pytest.mark.tf_reference
def test_the_reference_is_the_class_tensorflow_ships():
    from tensorflow.keras.preprocessing.image import ImageDataGenerator as TfLegacy
    assert TfLegacy is Legacy
