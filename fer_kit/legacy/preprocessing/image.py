"""Keras 2's ``keras.preprocessing.image``: ``ImageDataGenerator`` on every Keras 3 backend.

    from keras.preprocessing.image import ImageDataGenerator            # Keras 2
    from fer_kit.legacy.preprocessing.image import ImageDataGenerator   # here

Keras 3 dropped the class from ``keras.preprocessing.image`` (TensorFlow's ``tf.keras``
still ships it, TensorFlow only). This one takes the legacy constructor's arguments and
gives the legacy results: the same random draws from NumPy's global state in the same
order (so a seed gives the legacy batches), the same transform matrix, the same
standardization, fitted statistics and ``validation_split`` (checked against TensorFlow's
class in ``tests/test_legacy.py``). The warp is ``fer_kit.augment``'s, a whole batch at a
time (``_warp``); ``brightness_range``, ``fill_mode='wrap'`` and interpolation orders other
than 1 raise.

``shear_range`` is in degrees, as since Keras 2.1.3 (keras-team/keras#8868, merged December
2017); Keras 2.0-2.1.2, what 2017 homework ran, read it in radians: ``shear_range=0.2`` in
a 2017 script meant about 11.5 degrees (write ``shear_range=11.5`` for the same images).
"""
from __future__ import annotations

import warnings

import keras
import numpy as np
from keras.utils import array_to_img, img_to_array, load_img, save_img  # noqa: F401

from . import _warp
from .iterator import NumpyArrayIterator

__all__ = ["ImageDataGenerator", "NumpyArrayIterator", "array_to_img", "img_to_array",
           "load_img", "save_img"]


class ImageDataGenerator:
    """Keras 2's ImageDataGenerator: random augmentation and normalization of image batches.

    Args: as Keras's legacy class (``featurewise_center`` ... ``dtype``). Only
    ``data_format`` 'channels_last' and 'channels_first', ``interpolation_order=1``.

    Raises:
        NotImplementedError: ``brightness_range``, or ``interpolation_order`` other than 1.
        ValueError: a bad ``data_format``, ``validation_split`` or ``zoom_range``.
    """

    def __init__(self, featurewise_center=False, samplewise_center=False,
                 featurewise_std_normalization=False, samplewise_std_normalization=False,
                 zca_whitening=False, zca_epsilon=1e-6, rotation_range=0,
                 width_shift_range=0.0, height_shift_range=0.0, brightness_range=None,
                 shear_range=0.0, zoom_range=0.0, channel_shift_range=0.0, fill_mode="nearest",
                 cval=0.0, horizontal_flip=False, vertical_flip=False, rescale=None,
                 preprocessing_function=None, data_format=None, validation_split=0.0,
                 interpolation_order=1, dtype=None):
        if brightness_range is not None:
            raise NotImplementedError("brightness_range is not supported here: use "
                                      "keras.layers.RandomBrightness in the model instead")
        if interpolation_order != 1:
            raise NotImplementedError(f"interpolation_order={interpolation_order}: the kit's "
                                      "warp is bilinear (the legacy default, 1)")
        data_format = data_format or keras.config.image_data_format()
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError(f"data_format should be 'channels_last' or 'channels_first', got "
                             f"{data_format!r}")
        if validation_split and not 0 < validation_split < 1:
            raise ValueError(f"validation_split must be strictly between 0 and 1, got "
                             f"{validation_split}")
        if np.isscalar(zoom_range):
            zoom_range = [1 - zoom_range, 1 + zoom_range]
        elif len(zoom_range) != 2:
            raise ValueError(f"zoom_range should be a float or two floats, got {zoom_range}")
        if fill_mode == "wrap":
            raise NotImplementedError("fill_mode='wrap': the legacy class wrapped with a period "
                                      "of the image size - 1 (scipy's 'wrap'), which the kit's "
                                      "warp does not; use 'reflect' or 'nearest'")
        if fill_mode not in ("nearest", "constant", "reflect"):
            raise ValueError(f"fill_mode must be 'nearest', 'constant' or 'reflect', got "
                             f"{fill_mode!r}")
        self.featurewise_center, self.samplewise_center = featurewise_center, samplewise_center
        self.featurewise_std_normalization = featurewise_std_normalization
        self.samplewise_std_normalization = samplewise_std_normalization
        self.zca_whitening, self.zca_epsilon = zca_whitening, zca_epsilon
        self.rotation_range, self.shear_range = rotation_range, shear_range
        self.width_shift_range, self.height_shift_range = width_shift_range, height_shift_range
        self.zoom_range = [float(zoom_range[0]), float(zoom_range[1])]
        self.channel_shift_range, self.fill_mode, self.cval = channel_shift_range, fill_mode, cval
        self.horizontal_flip, self.vertical_flip = horizontal_flip, vertical_flip
        self.rescale, self.preprocessing_function = rescale, preprocessing_function
        self.data_format, self.dtype = data_format, dtype or keras.config.floatx()
        self.brightness_range, self.interpolation_order = None, 1
        self.channel_axis, self.row_axis, self.col_axis = (
            (3, 1, 2) if data_format == "channels_last" else (1, 2, 3))
        self._validation_split = validation_split
        self.mean = self.std = self.zca_whitening_matrix = None
        self._implied_settings()

    def _implied_settings(self):
        """The legacy class's overrides, with its warnings."""
        def implied(what, by):
            warnings.warn(f"This ImageDataGenerator specifies `{by}`, which overrides "
                          f"setting of `{what}`.")
        if self.zca_whitening:
            if not self.featurewise_center:
                self.featurewise_center = True
                implied("featurewise_center", "zca_whitening")
            if self.featurewise_std_normalization:
                self.featurewise_std_normalization = False
                implied("featurewise_std_normalization", "zca_whitening")
        if self.featurewise_std_normalization and not self.featurewise_center:
            self.featurewise_center = True
            implied("featurewise_center", "featurewise_std_normalization")
        if self.samplewise_std_normalization and not self.samplewise_center:
            self.samplewise_center = True
            implied("samplewise_center", "samplewise_std_normalization")

    # ---- random transforms --------------------------------------------------------------------
    def get_random_transform(self, img_shape, seed=None) -> dict:
        """One image's random parameters, drawn from NumPy's global state in the legacy order
        (rotation, the two shifts, shear, zoom, the flips, channel shift)."""
        if seed is not None:
            np.random.seed(seed)
        theta = np.random.uniform(-self.rotation_range, self.rotation_range) \
            if self.rotation_range else 0
        tx = _warp.draw_shift(self.height_shift_range, img_shape[self.row_axis - 1])
        ty = _warp.draw_shift(self.width_shift_range, img_shape[self.col_axis - 1])
        shear = np.random.uniform(-self.shear_range, self.shear_range) if self.shear_range else 0
        if self.zoom_range[0] == 1 and self.zoom_range[1] == 1:
            zx, zy = 1, 1
        else:
            zx, zy = np.random.uniform(self.zoom_range[0], self.zoom_range[1], 2)
        flip_horizontal = (np.random.random() < 0.5) * self.horizontal_flip
        flip_vertical = (np.random.random() < 0.5) * self.vertical_flip
        intensity = np.random.uniform(-self.channel_shift_range, self.channel_shift_range) \
            if self.channel_shift_range != 0 else None
        return {"theta": theta, "tx": tx, "ty": ty, "shear": shear, "zx": zx, "zy": zy,
                "flip_horizontal": flip_horizontal, "flip_vertical": flip_vertical,
                "channel_shift_intensity": intensity, "brightness": None}

    def apply_transform(self, x, transform_parameters: dict) -> np.ndarray:
        """One image (3-D) transformed by the parameters (``get_random_transform``'s keys)."""
        return self._apply(np.asarray(x)[None], [transform_parameters])[0]

    def random_transform(self, x, seed=None) -> np.ndarray:
        """One image (3-D) randomly transformed."""
        return self.apply_transform(x, self.get_random_transform(np.shape(x), seed))

    def _apply(self, images: np.ndarray, params: list) -> np.ndarray:
        """A batch, each image by its parameters: one warp call, then channel shifts."""
        last = self.data_format == "channels_last"
        x = np.asarray(images, np.float32) if last else np.moveaxis(images, 1, -1).astype(
            np.float32)
        h, w = x.shape[1:3]
        vectors = np.stack([_warp.transform_vector(p, h, w) for p in params])
        x = _warp.warp(x, vectors, self.fill_mode, self.cval)
        _warp.shift_channels(x, [p.get("channel_shift_intensity") for p in params])
        if any(p.get("brightness") is not None for p in params):
            raise NotImplementedError("brightness is not supported here")
        x = x if last else np.moveaxis(x, -1, 1)
        return x.astype(np.asarray(images).dtype if np.asarray(images).dtype.kind == "f"
                        else np.float32)

    def _transform_batch(self, images: np.ndarray) -> np.ndarray:
        """``flow``'s work on one batch: for each image the legacy draw, transform and
        standardization, in that order (the warp batched unless ``preprocessing_function``
        might draw random numbers between images)."""
        images = images.astype(self.dtype)
        if self.preprocessing_function is not None:
            return np.stack([self.standardize(self.random_transform(img)) for img in images])
        params = [self.get_random_transform(img.shape) for img in images]
        out = self._apply(images, params)
        return np.stack([self.standardize(img) for img in out]).astype(self.dtype)

    # ---- normalization ----------------------------------------------------------------------
    def standardize(self, x):
        """The normalization, in the legacy order and in place where the legacy class was:
        preprocessing_function, rescale, samplewise centre and std, featurewise centre and
        std (after ``fit``), ZCA whitening. Statistics over the whole of ``x``."""
        if self.preprocessing_function:
            x = self.preprocessing_function(x)
        if self.rescale:
            x *= self.rescale
        if self.samplewise_center:
            x -= np.mean(x, keepdims=True)
        if self.samplewise_std_normalization:
            x /= np.std(x, keepdims=True) + 1e-6
        for flag, stat, name in ((self.featurewise_center, self.mean, "featurewise_center"),
                                 (self.featurewise_std_normalization, self.std,
                                  "featurewise_std_normalization"),
                                 (self.zca_whitening, self.zca_whitening_matrix,
                                  "zca_whitening")):
            if flag and stat is None:
                warnings.warn(f"This ImageDataGenerator specifies `{name}`, but it hasn't "
                              "been fit on any training data. Fit it first by calling "
                              "`.fit(numpy_data)`.")
        if self.featurewise_center and self.mean is not None:
            x -= self.mean
        if self.featurewise_std_normalization and self.std is not None:
            x /= self.std + 1e-6
        if self.zca_whitening and self.zca_whitening_matrix is not None:
            flat = x.reshape(-1, int(np.prod(x.shape[-3:])))
            x = np.reshape(flat @ self.zca_whitening_matrix, x.shape)
        return x

    def fit(self, x, augment: bool = False, rounds: int = 1, seed=None):
        """Fit the featurewise statistics (mean and std per channel, ZCA matrix) on ``x``
        (rank 4), after ``rescale`` and, with ``augment``, ``rounds`` random transforms."""
        x = np.array(x, dtype=self.dtype)
        if x.ndim != 4:
            raise ValueError(f"fit takes images of rank 4; got shape {x.shape}")
        if seed is not None:
            np.random.seed(seed)
        if self.rescale:
            x *= self.rescale
        if augment:
            x = np.concatenate([np.stack([self.random_transform(img) for img in x])
                                for _ in range(rounds)]).astype(self.dtype)
        axes, shape = (0, self.row_axis, self.col_axis), [1, 1, 1]
        shape[self.channel_axis - 1] = x.shape[self.channel_axis]
        if self.featurewise_center:
            self.mean = np.reshape(np.mean(x, axis=axes), shape)
            x -= self.mean
        if self.featurewise_std_normalization:
            self.std = np.reshape(np.std(x, axis=axes), shape)
            x /= self.std + 1e-6
        if self.zca_whitening:
            flat = np.reshape(x, (len(x), -1))
            u, s, _ = np.linalg.svd(flat.T, full_matrices=False)
            self.zca_whitening_matrix = (u * (np.sqrt(len(x)) / (s + self.zca_epsilon))).dot(u.T)

    # ---- iterators --------------------------------------------------------------------------
    def flow(self, x, y=None, batch_size: int = 32, shuffle: bool = True, sample_weight=None,
             seed=None, save_to_dir=None, save_prefix="", save_format="png",
             ignore_class_split=False, subset=None) -> NumpyArrayIterator:
        """Batches of augmented, standardized images (and labels): for ``model.fit`` (Keras
        2's ``fit_generator``) or a ``for`` loop."""
        if save_to_dir:
            raise NotImplementedError("save_to_dir is not supported: save the batches with "
                                      "keras.utils.save_img in your loop")
        return NumpyArrayIterator(x, y, self, batch_size=batch_size, shuffle=shuffle,
                                  sample_weight=sample_weight, seed=seed, subset=subset,
                                  ignore_class_split=ignore_class_split, dtype=self.dtype)

    def flow_from_directory(self, *args, **kwargs):
        raise NotImplementedError("flow_from_directory: use "
                                  "keras.utils.image_dataset_from_directory (FER2013 is a CSV: "
                                  "fer_kit.data.load)")

    def flow_from_dataframe(self, *args, **kwargs):
        raise NotImplementedError("flow_from_dataframe: read the images into an array (for "
                                  "FER2013, fer_kit.data.load) and call flow")

