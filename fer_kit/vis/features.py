"""What a layer sees and what it is made of: feature maps and convolution kernels."""
from __future__ import annotations

import keras
import numpy as np

from .base import as_base


def feature_maps(model, layer, image) -> np.ndarray:
    """A layer's outputs for one model-ready image (H, W, C) -> (h, w, filters)."""
    x = np.asarray(image, np.float32)
    return as_base(model).predict(x[None], layer)[0]


def kernels(model, layer) -> np.ndarray:
    """A conv layer's kernel (kh, kw, in_channels, filters), as NumPy."""
    lay = as_base(model).layer(layer)
    kernel = getattr(lay, "kernel", None)
    if kernel is None or len(kernel.shape) != 4:
        raise ValueError(f"layer {lay.name!r} ({type(lay).__name__}) has no 2-D convolution "
                         "kernel")
    return np.asarray(keras.ops.convert_to_numpy(kernel))
