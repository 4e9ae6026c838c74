"""keras-vis's ``vis.utils.utils``: layer lookup, model modification, image helpers."""
from __future__ import annotations

import math

import keras
import numpy as np

from ...vis.surgery import find_layer_idx

EPSILON = 1e-7

__all__ = ["apply_modifications", "deprocess_input", "find_layer_idx", "get_img_shape",
           "get_num_filters", "listify", "load_img", "lookup_imagenet_labels", "normalize",
           "random_array", "reverse_enumerate", "stitch_images", "draw_text"]


def apply_modifications(model: keras.Model, custom_objects=None) -> keras.Model:
    """A new model built from ``model``'s layers as they are now, sharing their weights.

    keras-vis saved and reloaded the model so that an edit like
    ``model.layers[-1].activation = keras.activations.linear`` took effect. On Keras 3
    each layer reads its activation when called, so re-calling the same layers on a
    fresh input is enough (and nothing is written to disk). ``custom_objects`` is
    accepted and not needed.
    """
    return keras.models.clone_model(model, clone_function=lambda layer: layer)


def normalize(array, min_value: float = 0.0, max_value: float = 1.0) -> np.ndarray:
    """Min-max scale the whole array (all images together) to [min_value, max_value]."""
    array = np.asarray(array, np.float32)
    lo, hi = array.min(), array.max()
    return (max_value - min_value) * (array - lo) / (hi - lo + EPSILON) + min_value


def deprocess_input(input_array, input_range=(0, 255)) -> np.ndarray:
    """keras-vis's deprocessing: centre, sd 0.1 about 0.5, clip to [0, 1], map to range."""
    x = np.array(input_array, np.float32)
    x -= x.mean()
    x /= x.std() + EPSILON
    x = np.clip(x * 0.1 + 0.5, 0, 1)
    return (input_range[1] - input_range[0]) * x + input_range[0]


def stitch_images(images, margin: int = 5, cols: int = 5):
    """Images (H, W, C) side by side, ``cols`` a row, ``margin`` pixels of zeros between."""
    if len(images) == 0:
        return None
    h, w, c = images[0].shape
    n_rows, n_cols = int(math.ceil(len(images) / cols)), min(len(images), cols)
    out = np.zeros((n_rows * h + (n_rows - 1) * margin, n_cols * w + (n_cols - 1) * margin, c),
                   dtype=images[0].dtype)
    for i, img in enumerate(images):
        r, col = divmod(i, cols)
        out[(h + margin) * r:(h + margin) * r + h, (w + margin) * col:(w + margin) * col + w] = img
    return out


def get_num_filters(layer) -> int:
    """Units of a Dense layer, channels of a conv layer (channels last)."""
    return int(layer.output.shape[-1])


def listify(value) -> list:
    """``value`` as a list (None -> [None], a tuple -> a list)."""
    if isinstance(value, list):
        return value
    if isinstance(value, tuple):
        return list(value)
    return [value]


def reverse_enumerate(iterable):
    """enumerate, from the last item back."""
    items = list(iterable)
    return zip(reversed(range(len(items))), reversed(items))


def random_array(shape, mean: float = 128.0, std: float = 20.0) -> np.ndarray:
    """Normal noise with this mean and sd (NumPy's global random state, as keras-vis)."""
    return np.random.normal(mean, std, shape).astype(np.float32)


def get_img_shape(img) -> tuple:
    """(samples, channels, *image dims), whatever the layout (keras-vis's convention)."""
    shape = tuple(img.shape)
    return (shape[0], shape[-1], *shape[1:-1])


def load_img(path, grayscale: bool = False, target_size=None) -> np.ndarray:
    """An image file as a uint8 array (H, W, C); ``target_size`` (h, w) resizes it."""
    img = keras.utils.load_img(path, color_mode="grayscale" if grayscale else "rgb",
                               target_size=target_size)
    return keras.utils.img_to_array(img, dtype="uint8")


def lookup_imagenet_labels(indices):
    """Not available: keras-vis downloaded ImageNet's class index at run time."""
    raise NotImplementedError("lookup_imagenet_labels needs a download at run time; use "
                              "keras.applications.imagenet_utils.decode_predictions, or "
                              "fer_kit.EMOTIONS for FER2013's classes")


def draw_text(img, text, position=(10, 10), font="FreeSans.ttf", font_size=14,
              color=(0, 0, 0)):
    """Not available: draw titles with matplotlib (fer_kit.plots) instead."""
    raise NotImplementedError("draw_text drew into pixels with PIL fonts; put the text in a "
                              "matplotlib title (plt.title or fer_kit.plots) instead")
