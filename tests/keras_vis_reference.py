"""keras-vis's algorithms written out, for tests/test_keras_vis*.py: TensorFlow tapes on the
Keras model for the gradients, and NumPy for what keras-vis did with them (jet colouring,
Pillow's bicubic resize as scipy.misc.imresize called it, the 0.2 overlay)."""
from __future__ import annotations

import keras
import numpy as np
from matplotlib import colormaps

from fer_kit import models


def residual(seed=0):
    """Residual adds, separable convolutions, ReLU inside layers and as a layer."""
    keras.utils.set_random_seed(seed)
    inp = keras.Input((24, 24, 3))
    h = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="stem")(inp)
    r = keras.layers.SeparableConv2D(8, 3, padding="same", activation="relu", name="sep1")(h)
    r = keras.layers.SeparableConv2D(8, 3, padding="same", name="sep2")(r)
    h = keras.layers.Activation("relu", name="add_relu")(keras.layers.Add(name="add")([h, r]))
    h = keras.layers.MaxPooling2D(2, name="pool")(h)
    h = keras.layers.SeparableConv2D(16, 3, padding="same", activation="relu", name="sep3")(h)
    h = keras.layers.GlobalAveragePooling2D(name="gap")(h)
    out = keras.layers.Dense(5, activation="softmax", name="predictions")(h)
    return keras.Model(inp, out, name="residual")


def vgg():
    keras.utils.set_random_seed(1)
    return models.build("vgg_selu", width=0.125)


MODELS = {"vgg_selu": vgg, "residual": residual}
#: keras-vis's default penultimate layer in each (the last Conv/Pooling before the layer
#: before the output)
PENULTIMATE = {"vgg_selu": "block3_pool", "residual": "sep3"}


def keras_vis_grads(model, x, filter_indices, wrt_layer=None):
    """d(sum over filter_indices of the batch mean of a logit) / d(input or wrt_layer's
    output): keras-vis's ActivationMaximization gradient, negated, by tf.GradientTape.
    The logits are computed by hand from the head's input and kernel.

    Returns:
        grads, or (grads, wrt_layer's activations) with ``wrt_layer``.
    """
    import tensorflow as tf
    head = model.get_layer("predictions")
    outs = [head.input] + ([] if wrt_layer is None else [model.get_layer(wrt_layer).output])
    feats = keras.Model(model.inputs, outs)
    xt = tf.constant(np.asarray(x, np.float32))
    with tf.GradientTape() as tape:
        tape.watch(xt)
        res = feats(xt)
        f, mid = (res, None) if wrt_layer is None else res
        logits = tf.matmul(f, head.kernel) + head.bias
        idx = range(logits.shape[-1]) if filter_indices is None else np.atleast_1d(
            filter_indices)
        loss = tf.add_n([tf.reduce_mean(logits[:, int(i)]) for i in idx])
        if filter_indices is None:
            loss = loss / logits.shape[-1]
    if wrt_layer is None:
        return tape.gradient(loss, xt).numpy()
    return tape.gradient(loss, mid).numpy(), mid.numpy()


def minmax(a):
    """keras-vis's utils.normalize: min-max over the whole array, epsilon 1e-7."""
    return (a - a.min()) / (a.max() - a.min() + 1e-7)


JET = np.uint8(colormaps["jet"](np.arange(256))[:, :3] * 255)  # matplotlib's jet, 256 levels


def assert_jet_of(rgb, values):
    """``rgb`` is matplotlib's jet of ``values`` (in [0, 1]) as keras-vis stored it; a pixel
    may take the neighbouring level only where its value is within 1e-4 of a level's edge
    (float noise between two exact computations)."""
    rgb, values = np.asarray(rgb), np.asarray(values, np.float64)
    assert rgb.dtype == np.uint8 and rgb.shape == values.shape + (3,), (rgb.dtype, rgb.shape)
    level = np.clip((values * 256).astype(int), 0, 255)
    off = np.any(rgb != JET[level], axis=-1)
    edge = np.abs(values * 256 - np.round(values * 256)) < 256e-4
    assert not np.any(off & ~edge), f"{np.sum(off & ~edge)} pixels are not jet of the map"


def _cubic(x, a=-0.5):
    x = np.abs(x)
    return np.where(x < 1, ((a + 2) * x - (a + 3)) * x * x + 1,
                    np.where(x < 2, (((x - 5) * x + 8) * x - 4) * a, 0.0))


def _bicubic_matrix(n_in, n_out):
    """Pillow's bicubic resampling along one axis (pixel centres aligned, the window clipped
    at the border and its weights renormalized), as a matrix (n_out, n_in)."""
    scale = n_in / n_out
    filterscale = max(scale, 1.0)
    support = 2.0 * filterscale
    m = np.zeros((n_out, n_in))
    for i in range(n_out):
        center = (i + 0.5) * scale
        lo, hi = max(int(center - support + 0.5), 0), min(int(center + support + 0.5), n_in)
        xs = np.arange(lo, hi)
        w = _cubic((xs - center + 0.5) / filterscale)
        m[i, xs] = w / w.sum()
    return m


def imresize_bicubic(a, size):
    """scipy.misc.imresize(a, size, interp='bicubic', mode='F') of keras-vis 0.4.1: Pillow's
    bicubic filter on a float image, written out (separable)."""
    rows, cols = _bicubic_matrix(a.shape[0], size[0]), _bicubic_matrix(a.shape[1], size[1])
    return rows @ np.asarray(a, np.float64) @ cols.T


def cam_by_hand(model, x, filter_indices, penultimate, grad_modifier=lambda g: g):
    """keras-vis's Grad-CAM heatmap before resizing (saliency.py at 0.4.1 and master)."""
    grads, acts = keras_vis_grads(model, x, filter_indices, penultimate)
    grads = grad_modifier(grads)
    grads = grads / (grads.max() + 1e-7)
    weights = grads.mean(axis=(0, 1, 2))
    return np.maximum((acts[0] * weights).sum(-1), 0)
