"""Data augmentation with Keras ImageDataGenerator's parameters, as one fused affine warp.

``AugmentConfig`` takes ImageDataGenerator's names and meanings (rotation_range in
degrees, width/height_shift_range as fractions, horizontal_flip, zoom_range,
fill_mode 'nearest' by default). Rotation, shift, zoom and flip are composed
into one 3x3 matrix per image and applied in one bilinear warp, on a batch:

* in the model (``AugmentConfig.to_layer()``), on any backend and on the GPU, by the
  running backend's fastest warp (``fer_kit.backend.warp``: XLA-compiled gathers on
  TensorFlow, ``grid_sample`` on PyTorch, ``keras.ops.image.affine_transform`` elsewhere);
* ``to_image_data_generator()`` gives the legacy generator for old homework code.

The geometry is ImageDataGenerator's ``apply_transform`` exactly (centre at
((w-1)/2, (h-1)/2), flip after the warp), checked pixel for pixel in the tests.
One quirk of the legacy code is not copied: it draws its ``tx`` (a column
shift) from ``height_shift_range``; fer_kit shifts rows by height_shift_range
and columns by width_shift_range, as documented. With equal ranges on square
images, as in seed 003, the two draw from the same distribution.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import keras
import numpy as np
from keras import ops

from .backend import warp as _warp
from .backend.tf import image_data_generator

_FILL = _warp.FILL_MODES
#: where ImageDataGenerator's arguments that AugmentConfig does not take went
_LEGACY = "fer_kit.legacy.preprocessing.image.ImageDataGenerator (all of Keras 2's arguments)"
_NORMALIZE = "fer_kit.preprocess's normalizers (make_normalizer), or " + _LEGACY
_ELSEWHERE = {"featurewise_center": _NORMALIZE, "featurewise_std_normalization": _NORMALIZE,
              "samplewise_center": _NORMALIZE, "samplewise_std_normalization": _NORMALIZE,
              "rescale": "fer_kit.preprocess.Rescale (the kit's models rescale inside), or "
                         + _LEGACY}


@dataclass(frozen=True)
class AugmentConfig:
    """Random augmentation, with ImageDataGenerator's parameter names and meanings.

    Attributes:
        rotation_range: degrees; angles drawn from [-r, r].
        width_shift_range: fraction of the width; column shifts drawn from [-f*W, f*W].
        height_shift_range: fraction of the height; row shifts drawn from [-f*H, f*H].
        horizontal_flip: mirror half of the images left-right.
        zoom_range: z or (lo, hi); zx and zy drawn independently from [1-z, 1+z].
        fill_mode: 'nearest', 'constant', 'reflect' or 'wrap'.
        cval: fill value for 'constant'.
    """

    rotation_range: float = 0.0
    width_shift_range: float = 0.0
    height_shift_range: float = 0.0
    horizontal_flip: bool = False
    zoom_range: float | tuple[float, float] = 0.0
    fill_mode: str = "nearest"
    cval: float = 0.0

    def __new__(cls, *args, **kwargs):
        """Refuse, by name, an ImageDataGenerator argument this config does not take."""
        unknown = sorted(set(kwargs) - {f for f in cls.__dataclass_fields__})
        if unknown:
            where = {name: _ELSEWHERE.get(name, _LEGACY) for name in unknown}
            raise TypeError("AugmentConfig does not take " + "; ".join(
                f"{name}: use {place}" for name, place in where.items())
                + f" (it takes {', '.join(cls.__dataclass_fields__)})")
        return super().__new__(cls)

    def __post_init__(self):
        if self.fill_mode not in _FILL:
            raise ValueError(f"fill_mode must be one of {sorted(_FILL)}, got {self.fill_mode!r}")
        for name in ("rotation_range", "width_shift_range", "height_shift_range"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")

    @classmethod
    def seed003(cls) -> "AugmentConfig":
        """Seed 003's settings: rotation 20, shifts 0.1, horizontal flip."""
        return cls(rotation_range=20, width_shift_range=0.1, height_shift_range=0.1,
                   horizontal_flip=True)

    @property
    def zoom_bounds(self) -> tuple[float, float]:
        z = self.zoom_range
        return (1 - z, 1 + z) if np.isscalar(z) else (float(z[0]), float(z[1]))

    @property
    def is_identity(self) -> bool:
        return (not self.rotation_range and not self.width_shift_range
                and not self.height_shift_range and not self.horizontal_flip
                and self.zoom_bounds == (1.0, 1.0))

    def to_image_data_generator(self, **kwargs):
        """The equivalent legacy ``ImageDataGenerator`` (deprecated in Keras 3; TensorFlow only)."""
        return image_data_generator()(**asdict(self), **kwargs)

    def to_layer(self, seed: int | None = None):
        """A Keras layer that augments in the model (training only), on any backend."""
        return RandomAffine(self, seed=seed, dtype="float32", name="augment")


def transform_vectors(theta, tx, ty, zx, zy, flip, height: int, width: int, xp):
    """ImageDataGenerator's affine transform as 8-vectors for a projective warp.

    Args:
        theta: rotation in degrees, (B,). tx: column shift in pixels (the legacy
            ``tx``), ty: row shift; zx, zy: zoom of columns and rows; flip: 0/1, (B,).
        height, width: image size.
        xp: the array module, ``keras.ops`` or ``tensorflow`` (same code for both).

    Returns:
        (B, 8) [a0, a1, a2, b0, b1, b2, c0, c1] mapping an output pixel (x=col, y=row)
        to the input point it samples.
    """
    # NumPy arrays or tensors in; tensors of the module's own kind from here on (a NumPy
    # array times a torch tensor is an error)
    theta, tx, ty, zx, zy, flip = (xp.convert_to_tensor(v, "float32")
                                   for v in (theta, tx, ty, zx, zy, flip))
    t = theta * (np.pi / 180)
    c, s = xp.cos(t), xp.sin(t)
    # M = R(theta) @ Shift(tx, ty) @ Zoom(zx, zy), in (col, row) coordinates
    a00, a01, a10, a11 = c * zx, -s * zy, s * zx, c * zy
    t0, t1 = c * tx - s * ty, s * tx + c * ty
    ox, oy = width / 2 - 0.5, height / 2 - 0.5  # rotate and zoom about the image centre
    t0 = t0 + ox - (a00 * ox + a01 * oy)
    t1 = t1 + oy - (a10 * ox + a11 * oy)
    # A horizontal flip after the warp: output column x reads warped column W-1-x.
    sign = 1 - 2 * flip
    t0 = t0 + flip * (width - 1) * a00
    t1 = t1 + flip * (width - 1) * a10
    zero = xp.zeros_like(t0)
    return xp.stack([a00 * sign, a01, t0, a10 * sign, a11, t1, zero, zero], axis=1)


def sample_params(cfg: AugmentConfig, height: int, width: int, uniform, xp):
    """Draw per-image (theta, tx, ty, zx, zy, flip) for ``transform_vectors``.

    Args:
        uniform: ``uniform(k, lo, hi)`` -> (B,) draws; ``k`` numbers the six draws.
        xp: ``keras.ops`` or ``tensorflow`` (for ``cast``).
    """
    zl, zh = cfg.zoom_bounds
    theta = uniform(0, -cfg.rotation_range, cfg.rotation_range)
    ty = uniform(1, -cfg.height_shift_range, cfg.height_shift_range) * height
    tx = uniform(2, -cfg.width_shift_range, cfg.width_shift_range) * width
    zx, zy = uniform(3, zl, zh), uniform(4, zl, zh)
    coin = uniform(5, 0.0, 1.0)
    flip = xp.cast(coin < 0.5, "float32") * (1.0 if cfg.horizontal_flip else 0.0)
    return theta, tx, ty, zx, zy, flip


def apply_params(images: np.ndarray, params: dict, cfg: AugmentConfig | None = None) -> np.ndarray:
    """Apply fixed ImageDataGenerator ``transform_parameters`` to a batch, as the layer warps.

    For tests and figures; the warp is the running backend's (``fer_kit.backend.warp``).

    Args:
        images: (B, H, W, C) array.
        params: keys theta, tx, ty, zx, zy, flip_horizontal (as ``apply_transform`` takes).
    """
    cfg = cfg or AugmentConfig()
    b, h, w = images.shape[:3]
    full = lambda k, v: np.full(b, float(params.get(k, v)), np.float32)  # noqa: E731
    vec = transform_vectors(full("theta", 0), full("tx", 0), full("ty", 0), full("zx", 1),
                            full("zy", 1), full("flip_horizontal", 0), h, w, ops)
    return np.asarray(ops.convert_to_numpy(_warp.warp(images, vec, cfg.fill_mode, cfg.cval)))


@keras.saving.register_keras_serializable(package="fer_kit")
class RandomAffine(keras.layers.Layer):
    """Model-side augmentation: AugmentConfig as one fused warp per image (training only)."""

    def __init__(self, config: AugmentConfig | dict | None = None, seed: int | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        self.config = AugmentConfig(**config) if isinstance(config, dict) else (
            config or AugmentConfig())
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=None):
        cfg = self.config
        if not training or cfg.is_identity:
            return images
        b, h, w = ops.shape(images)[0], images.shape[1], images.shape[2]
        params = sample_params(cfg, h, w, lambda k, lo, hi: keras.random.uniform(
            (b,), lo, hi, seed=self.seed_generator), ops)
        vec = transform_vectors(*params, h, w, ops)
        return _warp.warp(images, vec, cfg.fill_mode, cfg.cval)  # the backend's fastest

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "config": asdict(self.config), "seed": self.seed}
