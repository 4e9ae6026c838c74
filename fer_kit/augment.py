"""Data augmentation with Keras ImageDataGenerator's parameters, as one fused affine warp.

``AugmentConfig`` takes ImageDataGenerator's names and meanings (rotation_range in
degrees, width/height_shift_range as fractions, horizontal_flip, zoom_range,
fill_mode 'nearest' by default). Rotation, shift, zoom and flip are composed
into one 3x3 matrix per image and applied in one bilinear warp, on a batch:

* in tf.data (``fk.pipeline``), so the CPU augments while the model trains: for
  fill_mode 'nearest' as four gathers that XLA compiles into one loop, else with
  TensorFlow's ImageProjectiveTransformV3;
* in the model (``AugmentConfig.to_layer()``) with ``keras.ops.image.affine_transform``,
  on any backend and on the GPU;
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

_FILL = {"nearest": "NEAREST", "constant": "CONSTANT", "reflect": "REFLECT", "wrap": "WRAP"}
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
        """The equivalent legacy ``ImageDataGenerator`` (deprecated in Keras 3)."""
        from tensorflow.keras.preprocessing.image import ImageDataGenerator
        return ImageDataGenerator(**asdict(self), **kwargs)

    def to_layer(self, seed: int | None = None):
        """A Keras layer that augments in the model (training only), on any backend."""
        return RandomAffine(self, seed=seed, dtype="float32", name="augment")


def transform_vectors(theta, tx, ty, zx, zy, flip, height: int, width: int, xp):
    """ImageDataGenerator's affine transform as 8-vectors for a projective warp.

    Args:
        theta: rotation in degrees, (B,). tx: column shift in pixels (the legacy
            ``tx``), ty: row shift; zx, zy: zoom of columns and rows; flip: 0/1, (B,).
        height, width: image size.
        xp: the array module, ``tensorflow`` or ``keras.ops`` (same code for both).

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
        xp: ``tensorflow`` or ``keras.ops`` (for ``cast``).
    """
    zl, zh = cfg.zoom_bounds
    theta = uniform(0, -cfg.rotation_range, cfg.rotation_range)
    ty = uniform(1, -cfg.height_shift_range, cfg.height_shift_range) * height
    tx = uniform(2, -cfg.width_shift_range, cfg.width_shift_range) * width
    zx, zy = uniform(3, zl, zh), uniform(4, zl, zh)
    coin = uniform(5, 0.0, 1.0)
    flip = xp.cast(coin < 0.5, "float32") * (1.0 if cfg.horizontal_flip else 0.0)
    return theta, tx, ty, zx, zy, flip


def sample_tf(cfg: AugmentConfig, batch: int, height: int, width: int, seed):
    """``sample_params`` with TensorFlow's stateless RNG (seed: (2,) int), for tf.data."""
    import tensorflow as tf
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 6)
    return sample_params(cfg, height, width,
                         lambda k, lo, hi: tf.random.stateless_uniform([batch], seeds[k], lo, hi),
                         tf)


def warp_tf(images, vectors, cfg: AugmentConfig):
    """Apply (B, 8) affine transforms (from ``transform_vectors``) to float images
    (B, H, W, C), bilinear, in TensorFlow.

    fill_mode 'nearest' (the default, seed 003's) runs as four gathers compiled by XLA
    into one loop, about 3x TensorFlow's ImageProjectiveTransformV3 on a CPU; the
    other fill modes use that op. Both agree within 0.01 on a 0-255 scale (tested).
    """
    import tensorflow as tf
    vectors = tf.cast(vectors, tf.float32)
    fast = _xla_nearest_warp() if cfg.fill_mode == "nearest" else None
    if fast is not None:
        return fast(images, vectors)
    shape = tf.shape(images)[1:3]
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=vectors, output_shape=shape,
        fill_value=tf.cast(cfg.cval, tf.float32), interpolation="BILINEAR",
        fill_mode=_FILL[cfg.fill_mode])


def _nearest_warp(images, vectors):
    """Bilinear affine warp with edge extension: output (y, x) samples the input at
    (a0 x + a1 y + a2, b0 x + b1 y + b2), clamped to the image (the 'nearest' fill)."""
    import tensorflow as tf
    h, w, c = images.shape[1], images.shape[2], images.shape[3]
    gy, gx = tf.meshgrid(tf.range(h, dtype=tf.float32), tf.range(w, dtype=tf.float32),
                         indexing="ij")
    a = [vectors[:, k][:, None, None] for k in range(6)]
    sx = tf.clip_by_value(a[0] * gx + a[1] * gy + a[2], 0.0, w - 1.0)
    sy = tf.clip_by_value(a[3] * gx + a[4] * gy + a[5], 0.0, h - 1.0)
    x0, y0 = tf.floor(sx), tf.floor(sy)
    wx, wy = (sx - x0)[..., None], (sy - y0)[..., None]
    x0, y0 = tf.cast(x0, tf.int32), tf.cast(y0, tf.int32)
    x1, y1 = tf.minimum(x0 + 1, w - 1), tf.minimum(y0 + 1, h - 1)
    rows = tf.reshape(images, [-1, c])  # one row per pixel of the batch
    base = (tf.range(tf.shape(images)[0]) * (h * w))[:, None, None]

    def at(yi, xi):
        return tf.gather(rows, base + yi * w + xi)  # (B, H, W, C)

    top = at(y0, x0) * (1 - wx) + at(y0, x1) * wx
    bottom = at(y1, x0) * (1 - wx) + at(y1, x1) * wx
    return top * (1 - wy) + bottom * wy


_XLA_WARP = []


def _xla_nearest_warp():
    """``_nearest_warp`` compiled with XLA (one program per image shape), or None where
    this TensorFlow build cannot compile with XLA (checked once, eagerly)."""
    if not _XLA_WARP:
        import tensorflow as tf
        fn = tf.function(_nearest_warp, jit_compile=True)
        try:
            with tf.init_scope():  # eager, even while tf.data traces the caller
                fn(tf.zeros([1, 2, 2, 1]), tf.constant([[1.0, 0, 0, 0, 1, 0, 0, 0]]))
        except (tf.errors.OpError, NotImplementedError):  # no XLA here: the op fallback
            fn = None
        _XLA_WARP.append(fn)
    return _XLA_WARP[0]


#: fill modes that torch's grid_sample reproduces: 'nearest' clamps the sampled point to
#: the image (padding 'border'), 'constant' reads cval outside it
_TORCH_PADDING = {"nearest": "border", "constant": "zeros"}


def warp_torch(images, vectors, cfg: AugmentConfig):
    """``warp_tf``'s bilinear warp as one ``torch.nn.functional.grid_sample`` call.

    Keras's ``affine_transform`` on PyTorch is a gather-based sampler of many small ops,
    which cost most of the training throughput on the PyTorch backend; grid_sample is one
    fused kernel. With ``align_corners=True`` the normalized coordinates -1 and 1 are the
    centres of the first and last pixels, so pixel coordinates map linearly onto them.

    Args:
        images: float (B, H, W, C) torch tensor. vectors: (B, 8) from ``transform_vectors``.
    """
    import torch
    h, w = images.shape[1], images.shape[2]
    v = vectors.to(images.dtype)
    gy, gx = torch.meshgrid(torch.arange(h, dtype=images.dtype, device=images.device),
                            torch.arange(w, dtype=images.dtype, device=images.device),
                            indexing="ij")
    sx = v[:, 0, None, None] * gx + v[:, 1, None, None] * gy + v[:, 2, None, None]  # (B, H, W)
    sy = v[:, 3, None, None] * gx + v[:, 4, None, None] * gy + v[:, 5, None, None]
    grid = torch.stack([sx * (2.0 / (w - 1)) - 1.0, sy * (2.0 / (h - 1)) - 1.0], dim=-1)
    x = images.permute(0, 3, 1, 2)  # NCHW
    if cfg.fill_mode == "constant" and cfg.cval:
        x = x - cfg.cval  # zeros padding reads 0 outside: shift so that 0 means cval
    out = torch.nn.functional.grid_sample(x, grid, mode="bilinear",
                                          padding_mode=_TORCH_PADDING[cfg.fill_mode],
                                          align_corners=True)
    if cfg.fill_mode == "constant" and cfg.cval:
        out = out + cfg.cval
    return out.permute(0, 2, 3, 1)


def augment_batch_tf(images, cfg: AugmentConfig, seed):
    """Randomly augment a float batch (B, H, W, C) in TensorFlow (for tf.data)."""
    import tensorflow as tf
    if cfg.is_identity:
        return images
    shape = tf.shape(images)
    h, w = images.shape[1], images.shape[2]
    params = sample_tf(cfg, shape[0], h, w, seed)
    return warp_tf(images, transform_vectors(*params, h, w, tf), cfg)


def apply_params(images: np.ndarray, params: dict, cfg: AugmentConfig | None = None) -> np.ndarray:
    """Apply fixed ImageDataGenerator ``transform_parameters`` to a batch (for tests and figures).

    Args:
        images: (B, H, W, C) array.
        params: keys theta, tx, ty, zx, zy, flip_horizontal (as ``apply_transform`` takes).
    """
    import tensorflow as tf
    cfg = cfg or AugmentConfig()
    b, h, w = images.shape[:3]
    full = lambda k, v: tf.fill([b], float(params.get(k, v)))  # noqa: E731
    vec = transform_vectors(full("theta", 0), full("tx", 0), full("ty", 0), full("zx", 1),
                            full("zy", 1), full("flip_horizontal", 0), h, w, tf)
    return warp_tf(tf.convert_to_tensor(images, tf.float32), vec, cfg).numpy()


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
        images = ops.cast(images, "float32")
        if keras.backend.backend() == "tensorflow":  # the XLA-compiled warp: ~3x on a CPU
            return warp_tf(images, vec, cfg)
        if keras.backend.backend() == "torch" and cfg.fill_mode in _TORCH_PADDING:
            return warp_torch(images, vec, cfg)
        return ops.image.affine_transform(images, vec, interpolation="bilinear",
                                          fill_mode=cfg.fill_mode, fill_value=cfg.cval)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "config": asdict(self.config), "seed": self.seed}
