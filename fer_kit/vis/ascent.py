"""Activation maximization: the input that most excites a filter or a class, by gradient
ascent (Erhan et al. 2009; keras.io's "Visualizing what convnets learn").

All filters climb together, one image each, in a single batch: one compiled gradient
function serves them all (keras.io's loop retraces its step for every filter).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from keras import ops
from scipy.ndimage import correlate
from tqdm.auto import tqdm

from . import autodiff
from .base import as_base


@dataclass
class Ascent:
    """What ``maximize`` returns.

    Attributes:
        images: deprocessed uint8 images (F, H, W, C), one per filter.
        raw: the optimized inputs (F, H, W, C), float32.
        start: each filter's activation on its starting image.
        final: each filter's activation on its optimized image (no regularizers).
    """

    images: np.ndarray
    raw: np.ndarray
    start: np.ndarray
    final: np.ndarray


def deprocess(x: np.ndarray) -> np.ndarray:
    """keras.io's deprocessing: per image centre, scale to sd 0.15 around 0.5, clip, uint8."""
    axes = tuple(range(1, x.ndim))
    x = x - x.mean(axis=axes, keepdims=True)
    x = x / (x.std(axis=axes, keepdims=True) + 1e-5) * 0.15 + 0.5
    return (np.clip(x, 0, 1) * 255).astype(np.uint8)


def total_variation(x):
    """Per image: sum of absolute differences between neighbouring pixels (N,).

    The same value as ``tf.image.total_variation``, in ``keras.ops``.
    """
    dh = ops.abs(x[:, 1:, :, :] - x[:, :-1, :, :])
    dw = ops.abs(x[:, :, 1:, :] - x[:, :, :-1, :])
    return ops.sum(dh, axis=(1, 2, 3)) + ops.sum(dw, axis=(1, 2, 3))


def _activation(graph, border: int):
    """img, w -> each image's weighted mean activation, ``border`` pixels in from the edge."""
    def act(img, w):
        out = graph(img, training=False)
        out = out[0] if isinstance(out, (list, tuple)) else out
        if len(out.shape) == 4 and border > 0 and out.shape[1] > 2 * border + 1:
            out = out[:, border:-border, border:-border, :]
        return autodiff.score(out, w)
    return act


def _objective(graph, border: int, tv: bool):
    """The climbed quantity per image: activation - l2 * mean(((x - mid) / half)^2)
    - tv_weight * total variation / (half * pixels)."""
    act = _activation(graph, border)

    def objective(inputs, w, l2, tv_weight, mid, half):
        img = inputs[0]
        loss = act(img, w) - l2 * ops.mean(ops.square((img - mid) / half), axis=(1, 2, 3))
        if tv:  # traced only when asked: the gradient of |.| costs a pass of its own
            size = float(np.prod(img.shape[1:]))
            loss = loss - tv_weight * total_variation(img) / (half * size)
        return loss, None
    return objective


def _blur(x: np.ndarray) -> np.ndarray:
    """A 3x3 binomial blur of each channel (zero padding, as a 'SAME' convolution)."""
    k = np.array([1.0, 2.0, 1.0], np.float32) / 4.0
    return correlate(x, (k[:, None] * k[None, :])[None, :, :, None], mode="constant")


def maximize(model, layer, filters, *, steps: int = 100, lr: float = 10.0, l2: float = 0.0,
             tv: float = 0.0, jitter: int = 2, blur_every: int = 0, border: int = 1,
             init=None, value_range: tuple[float, float] | None = None, seed: int = 0,
             progress: bool = True, logits: bool = True, modifier=None) -> Ascent:
    """Activation maximization: one image per filter (or class), all optimized in one batch.

    Each image ``f`` climbs the mean activation of ``filters[f]`` in ``layer``
    (away from a ``border`` of the map, as keras.io does), minus ``l2 * mean(x^2)``
    and ``tv * total variation``, by steps of ``lr`` along its L2-normalized
    gradient; ``jitter`` shifts the image randomly each step, ``blur_every`` blurs it.

    Args:
        model: a Keras model or an ``Explainer``.
        layer: a conv layer (its filters) or the output layer (classes, as logits).
        filters: indices; a list inside the list sums several.
        init: starting images (F, H, W, C) or (1, H, W, C); default small noise about the
            middle of ``value_range`` (0 without one).
        value_range: (lo, hi) of the model's inputs, e.g. (0, 255) for raw pixels. The
            default start, the step and ``l2`` then scale with it as keras.io's do with
            inputs in [-1, 1] (noise about the middle, steps of ``lr * (hi - lo) / 2``,
            ``l2`` on the distance from the middle), and each step is clipped to the range,
            so the images stay images the model could be shown. None: keras.io's scale.
        modifier: backprop rule (None, 'guided', 'deconvnet').
    """
    ex = as_base(model)
    graph = ex.graph(layer, logits=logits, modifier=modifier)
    shape = tuple(ex.model.input_shape[1:])
    n = len(filters)
    w = ex.weights(list(filters), n, int(graph.outputs[0].shape[-1]))
    rng = np.random.default_rng(seed)
    lo, hi = value_range if value_range is not None else (-1.0, 1.0)
    if hi <= lo:
        raise ValueError(f"value_range must be (lo, hi) with lo < hi, got {value_range}")
    mid, half = (lo + hi) / 2, (hi - lo) / 2
    if init is None:
        x = mid + (rng.random((n, *shape), np.float32) - 0.5) * 0.25 * half
    else:
        x = np.broadcast_to(np.asarray(init, np.float32), (n, *shape)).copy()
    act = ex.compiled(f"act{border}", (id(graph),), lambda: autodiff.forward(
        lambda inputs, w: _activation(graph, border)(inputs[0], w), graph.variables))
    climb = ex.compiled(f"ascent{border}{bool(tv)}", (id(graph),),
                         lambda: autodiff.value_and_grad(_objective(graph, border, bool(tv)),
                                                         graph.variables))
    hyper = [np.float32(v) for v in (l2, tv, mid, half)]
    clip = (lo, hi) if value_range is not None else (-np.inf, np.inf)
    start = act([x], w)
    for i in tqdm(range(steps), desc=f"ascent {ex.layer(layer).name}", disable=not progress):
        shift = tuple(rng.integers(-jitter, jitter + 1, 2)) if jitter else (0, 0)
        img = np.roll(x, shift, axis=(1, 2)) if jitter else x
        (g,), _, _ = climb([img], w, *hyper)
        g = np.roll(g, (-shift[0], -shift[1]), axis=(1, 2)) if jitter else g
        g = g / (np.sqrt((g.reshape(n, -1) ** 2).sum(1)).reshape(-1, *[1] * len(shape)) + 1e-8)
        x = np.clip(x + np.float32(lr * half) * g, *clip).astype(np.float32)
        if blur_every and (i + 1) % blur_every == 0:
            x = _blur(x)
    return Ascent(deprocess(x), x, start, act([x], w))
