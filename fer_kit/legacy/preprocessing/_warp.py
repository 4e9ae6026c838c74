"""The legacy ImageDataGenerator's random draws and transform, run as fer_kit.augment's fused warp.

Keras 2's ``apply_transform`` composed rotation, shift, shear and zoom into one matrix,
centred it, swapped its axes to array order and called ``scipy.ndimage.affine_transform``
per channel, then flipped. Here the same matrix is built the same way (its quirks kept:
``tx``, drawn from ``height_shift_range`` times the height, moves columns; the centre is
taken as (h/2 - 0.5, w/2 - 0.5) in (x, y) order, which matters only for non-square images),
the flips are folded into it, and a whole batch is warped in one call of the kit's warp
(``fer_kit.backend.warp``, the augmentation layer's: XLA-compiled on TensorFlow,
``grid_sample`` on PyTorch, ``keras.ops.image.affine_transform`` elsewhere), bilinear as
the legacy's default ``interpolation_order=1``. Fill modes 'nearest'
and 'reflect' are scipy's; for 'constant' the one-pixel band where the warp blends ``cval``
with the edge is set to ``cval``, as scipy does; scipy's 'wrap' (a period of size - 1, not
size) has no counterpart in the warp and is refused.
"""
from __future__ import annotations

import keras
import numpy as np

from ...backend import warp as backend_warp

_IDENTITY = np.array([1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0])


def legacy_matrix(theta, tx, ty, shear, zx, zy, h: int, w: int) -> np.ndarray:
    """The 3x3 matrix the legacy code hands to scipy, acting on (row, col) array indices:
    the input point sampled for each output pixel."""
    t = np.deg2rad(theta)
    s = np.deg2rad(shear)
    m = np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]])
    m = m @ np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]])
    m = m @ np.array([[1, -np.sin(s), 0], [0, np.cos(s), 0], [0, 0, 1]])
    m = m @ np.diag([zx, zy, 1.0])
    ox, oy = h / 2 - 0.5, w / 2 - 0.5  # the legacy centre, (h, w) in (x, y) order
    m = np.array([[1, 0, ox], [0, 1, oy], [0, 0, 1]]) @ m @ np.array(
        [[1, 0, -ox], [0, 1, -oy], [0, 0, 1]])
    return m[[1, 0, 2]][:, [1, 0, 2]]  # the legacy's swap into (row, col) order


def transform_vector(params: dict, h: int, w: int) -> np.ndarray:
    """``apply_transform``'s parameters (theta, tx, ty, shear, zx, zy, flip_horizontal,
    flip_vertical) as the 8-vector of ``fer_kit.augment.transform_vectors``: output pixel
    (x=col, y=row) reads the input at (a0 x + a1 y + a2, b0 x + b1 y + b2)."""
    get = params.get
    moves = (get("theta", 0), get("tx", 0), get("ty", 0), get("shear", 0), get("zx", 1),
             get("zy", 1))
    if moves == (0, 0, 0, 0, 1, 1):
        v = _IDENTITY.copy()  # the legacy code does not interpolate then
    else:
        m = legacy_matrix(*moves, h, w)
        v = np.array([m[1, 1], m[1, 0], m[1, 2], m[0, 1], m[0, 0], m[0, 2], 0.0, 0.0])
    if get("flip_horizontal", False):  # output column x reads column w - 1 - x
        v[[2, 5]] += v[[0, 3]] * (w - 1)
        v[[0, 3]] *= -1
    if get("flip_vertical", False):
        v[[2, 5]] += v[[1, 4]] * (h - 1)
        v[[1, 4]] *= -1
    return v


def warp(images: np.ndarray, vectors: np.ndarray, fill_mode: str, cval: float) -> np.ndarray:
    """Warp float images (B, H, W, C) by (B, 8) vectors on the active Keras backend.

    A batch whose every sampled point is a pixel of the image (the identity, flips) is
    read, not interpolated: exact, as scipy is there (PyTorch's grid_sample, working in
    normalized coordinates, is off by up to 4e-4 on a 0-255 scale for a flip).
    """
    if np.all(vectors == _IDENTITY):
        return images.copy()
    on_pixels = _pixel_points(vectors, *images.shape[1:3])
    if on_pixels is not None:
        sy, sx = on_pixels
        return images[np.arange(len(images))[:, None, None], sy, sx]
    x = keras.ops.convert_to_tensor(images, "float32")
    vec = keras.ops.convert_to_tensor(vectors, "float32")
    out = np.array(keras.ops.convert_to_numpy(backend_warp.warp(x, vec, fill_mode, float(cval))))
    if fill_mode == "constant":  # scipy reads cval for any point off the image; the warp
        out[~_inside(vectors, *images.shape[1:3])] = cval  # blends cval in over one pixel
    return out


def _pixel_points(vectors: np.ndarray, h: int, w: int):
    """(rows, cols), each (B, H, W) int, of the points each output pixel samples when all
    are pixels of the image; None when any is between pixels or off the image."""
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float64)
    v = vectors.astype(np.float64)[:, :, None, None]
    sx = v[:, 0] * gx + v[:, 1] * gy + v[:, 2]
    sy = v[:, 3] * gx + v[:, 4] * gy + v[:, 5]
    rx, ry = np.rint(sx), np.rint(sy)
    if not (np.all(sx == rx) and np.all(sy == ry) and _inside(vectors, h, w).all()):
        return None
    return ry.astype(np.intp), rx.astype(np.intp)


def _inside(vectors: np.ndarray, h: int, w: int) -> np.ndarray:
    """(B, H, W) whether each output pixel samples a point on the image, in float64 as
    scipy computes it: the points where scipy's 'constant' mode interpolates."""
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float64)
    v = vectors.astype(np.float64)[:, :, None, None]
    sx = v[:, 0] * gx + v[:, 1] * gy + v[:, 2]
    sy = v[:, 3] * gx + v[:, 4] * gy + v[:, 5]
    return (sx >= 0) & (sx <= w - 1) & (sy >= 0) & (sy <= h - 1)


def shift_channels(images: np.ndarray, intensities: list) -> None:
    """The legacy channel shift, in place: each image plus its intensity (None: none),
    clipped to that image's range before the shift."""
    for i, intensity in enumerate(intensities):
        if intensity is not None:
            images[i] = np.clip(images[i] + intensity, images[i].min(), images[i].max())


def draw_shift(shift_range, size: int) -> float:
    """The legacy shift draw: a float range (a fraction of ``size`` when below 1), an int
    (pixels, drawn from that range of integers) or a list of choices."""
    if not shift_range:
        return 0
    try:  # 1-D array-like or int
        value = np.random.choice(shift_range)
        value *= np.random.choice([-1, 1])
    except ValueError:  # a float
        value = np.random.uniform(-shift_range, shift_range)
    if np.max(shift_range) < 1:
        value *= size
    return value
