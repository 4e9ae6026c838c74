"""The bilinear affine warp of a batch, by the fastest kernel the running backend has.

``warp(images, vectors, fill_mode, cval)`` applies (B, 8) projective vectors
(``fer_kit.augment.transform_vectors``: output pixel (x=col, y=row) reads the input at
(a0 x + a1 y + a2, b0 x + b1 y + b2)) to float images (B, H, W, C). It serves both the
augmentation layer (``fer_kit.augment.RandomAffine``) and the legacy ImageDataGenerator
(``fer_kit.legacy.preprocessing``), so they warp alike:

* TensorFlow: for fill_mode 'nearest' (the default, seed 003's) four gathers that XLA
  compiles into one loop, about 3x TensorFlow's ImageProjectiveTransformV3 on a CPU; the
  other fill modes, or a TensorFlow built without XLA, use that op;
* torch, fill 'nearest' or 'constant': one ``grid_sample`` call (Keras's
  ``affine_transform`` on torch is a gather-based sampler of many small ops, which cost
  most of the training throughput there);
* anything else: ``keras.ops.image.affine_transform``.

All agree within 0.01 on a 0-255 scale (tests/test_backend.py). Keras is imported here
at the top: this module is loaded only once a model or generator warps.
"""
from __future__ import annotations

from keras import ops

from .selection import name

#: ImageDataGenerator's fill modes, as TensorFlow's ImageProjectiveTransformV3 names them
FILL_MODES = {"nearest": "NEAREST", "constant": "CONSTANT", "reflect": "REFLECT", "wrap": "WRAP"}
#: fill modes that torch's grid_sample reproduces: 'nearest' clamps the sampled point to
#: the image (padding 'border'), 'constant' reads cval outside it
_TORCH_PADDING = {"nearest": "border", "constant": "zeros"}


def warp(images, vectors, fill_mode: str = "nearest", cval: float = 0.0):
    """Warp float images (B, H, W, C) by (B, 8) vectors on the running Keras backend.

    Returns:
        A tensor of the backend's kind, (B, H, W, C) float32.
    """
    images = ops.cast(images, "float32")
    backend = name()
    if backend == "tensorflow":
        return warp_tf(images, vectors, fill_mode, cval)
    if backend == "torch" and fill_mode in _TORCH_PADDING:
        return warp_torch(images, ops.convert_to_tensor(vectors, "float32"), fill_mode, cval)
    return ops.image.affine_transform(images, ops.convert_to_tensor(vectors, "float32"),
                                      interpolation="bilinear", fill_mode=fill_mode,
                                      fill_value=cval)


def warp_tf(images, vectors, fill_mode: str = "nearest", cval: float = 0.0):
    """``warp`` in TensorFlow (also inside tf.data): the XLA gather loop for fill 'nearest'
    where XLA compiles, else ImageProjectiveTransformV3."""
    import tensorflow as tf  # optional: only the running backend is importable
    vectors = tf.cast(vectors, tf.float32)
    fast = _xla_nearest_warp() if fill_mode == "nearest" else None
    if fast is not None:
        return fast(images, vectors)
    shape = tf.shape(images)[1:3]
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=vectors, output_shape=shape,
        fill_value=tf.cast(cval, tf.float32), interpolation="BILINEAR",
        fill_mode=FILL_MODES[fill_mode])


def _nearest_warp(images, vectors):
    """Bilinear affine warp with edge extension: output (y, x) samples the input at
    (a0 x + a1 y + a2, b0 x + b1 y + b2), clamped to the image (the 'nearest' fill)."""
    import tensorflow as tf  # optional: only the running backend is importable
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
        import tensorflow as tf  # optional: only the running backend is importable
        fn = tf.function(_nearest_warp, jit_compile=True)
        try:
            with tf.init_scope():  # eager, even while tf.data traces the caller
                fn(tf.zeros([1, 2, 2, 1]), tf.constant([[1.0, 0, 0, 0, 1, 0, 0, 0]]))
        except (tf.errors.OpError, NotImplementedError):  # no XLA here: the op fallback
            fn = None
        _XLA_WARP.append(fn)
    return _XLA_WARP[0]


def warp_torch(images, vectors, fill_mode: str = "nearest", cval: float = 0.0):
    """``warp`` as one ``torch.nn.functional.grid_sample`` call (fill 'nearest' or 'constant').

    With ``align_corners=True`` the normalized coordinates -1 and 1 are the centres of the
    first and last pixels, so pixel coordinates map linearly onto them.

    Args:
        images: float (B, H, W, C) torch tensor. vectors: (B, 8) torch tensor.
    """
    import torch  # optional: only the running backend is importable
    h, w = images.shape[1], images.shape[2]
    v = vectors.to(images.dtype)
    gy, gx = torch.meshgrid(torch.arange(h, dtype=images.dtype, device=images.device),
                            torch.arange(w, dtype=images.dtype, device=images.device),
                            indexing="ij")
    sx = v[:, 0, None, None] * gx + v[:, 1, None, None] * gy + v[:, 2, None, None]  # (B, H, W)
    sy = v[:, 3, None, None] * gx + v[:, 4, None, None] * gy + v[:, 5, None, None]
    grid = torch.stack([sx * (2.0 / (w - 1)) - 1.0, sy * (2.0 / (h - 1)) - 1.0], dim=-1)
    x = images.permute(0, 3, 1, 2)  # NCHW
    shift = fill_mode == "constant" and cval
    if shift:
        x = x - cval  # zeros padding reads 0 outside: shift so that 0 means cval
    out = torch.nn.functional.grid_sample(x, grid, mode="bilinear",
                                          padding_mode=_TORCH_PADDING[fill_mode],
                                          align_corners=True)
    if shift:
        out = out + cval
    return out.permute(0, 2, 3, 1)
