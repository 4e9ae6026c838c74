"""keras-vis's ``vis.utils.utils`` (0.4.1, and master's names): layer lookup, model
modification, image helpers, ImageNet labels, the random seed."""
from __future__ import annotations

import json
import math

import keras
import numpy as np

from ...vis.find import find_layer_idx

EPSILON = 1e-7
#: ImageNet's class index, the file Keras's ``decode_predictions`` reads (keras-vis shipped
#: a copy); downloaded into Keras's cache on first use of the labels, md5 checked
CLASS_INDEX_URL = ("https://storage.googleapis.com/download.tensorflow.org/data/"
                   "imagenet_class_index.json")
CLASS_INDEX_MD5 = "c2c37ea517e94d9795004a39431a14cb"
_CLASS_INDEX = None

__all__ = ["apply_modifications", "bgr2rgb", "deprocess_input", "draw_text", "find_layer_idx",
           "get_imagenet_label", "get_img_shape", "get_num_filters", "listify", "load_img",
           "lookup_imagenet_labels", "normalize", "random_array", "reverse_enumerate",
           "set_random_seed", "stitch_images"]


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
    """``value`` as a list: an iterable (not a string) as its items, else ``[value]``."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        return [value]
    return list(value)


def reverse_enumerate(iterable):
    """enumerate, from the last item back."""
    items = list(iterable)
    return zip(reversed(range(len(items))), reversed(items))


def random_array(shape, mean: float = 128.0, std: float = 20.0) -> np.ndarray:
    """Uniform noise standardized to this mean and sd (keras-vis's; NumPy's global random
    state, so ``np.random.seed`` or ``set_random_seed`` makes it repeat)."""
    x = np.random.random(shape)
    x = (x - np.mean(x)) / (np.std(x) + EPSILON)
    return (x * std + mean).astype(np.float32)


def set_random_seed(seed_value: int = 1337) -> None:
    """Seed NumPy, Python and the Keras backend (keras-vis 0.4.1 seeded NumPy and TF 1)."""
    keras.utils.set_random_seed(seed_value)


def bgr2rgb(img):
    """Reverse the channel order: BGR (OpenCV's) to RGB and back."""
    return img[..., ::-1]


def get_img_shape(img) -> tuple:
    """(samples, channels, *image dims), whatever the layout (keras-vis's convention)."""
    shape = tuple(img.shape)
    return (shape[0], shape[-1], *shape[1:-1])


def load_img(path, grayscale: bool = False, target_size=None) -> np.ndarray:
    """An image file as a uint8 array (H, W, C); ``target_size`` (h, w) resizes it."""
    img = keras.utils.load_img(path, color_mode="grayscale" if grayscale else "rgb",
                               target_size=target_size)
    return keras.utils.img_to_array(img, dtype="uint8")


def _class_index() -> dict:
    global _CLASS_INDEX
    if _CLASS_INDEX is None:
        path = keras.utils.get_file("imagenet_class_index.json", CLASS_INDEX_URL,
                                    cache_subdir="models", file_hash=CLASS_INDEX_MD5)
        with open(path) as f:
            _CLASS_INDEX = json.load(f)
    return _CLASS_INDEX


def get_imagenet_label(indices, join: str = ", ") -> str:
    """ImageNet's label of each class index, joined (keras-vis 0.4.1). The first call
    downloads ImageNet's class index into Keras's cache, as ``decode_predictions`` does.
    FER2013's classes are ``fer_kit.EMOTIONS``."""
    return join.join(_class_index()[str(int(i))][1] for i in listify(indices))


def lookup_imagenet_labels(indices) -> list:
    """ImageNet's labels of the class indices, as a list (keras-vis master's name)."""
    return [_class_index()[str(int(i))][1] for i in listify(indices)]


def draw_text(img, text, position=(10, 10), font="FreeSans.ttf", font_size=14,
              color=(0, 0, 0)):
    """Not available: draw titles with matplotlib (fer_kit.plots) instead."""
    raise NotImplementedError("draw_text drew into pixels with PIL fonts; put the text in a "
                              "matplotlib title (plt.title or fer_kit.plots) instead")
