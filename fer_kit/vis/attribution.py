"""Integrated Gradients (Sundararajan et al. 2017): attributions that add up to the score.

Plain gradients are local; IG averages them along the straight path from a baseline
(black by default) to the image and multiplies by the distance travelled, so each
image's attributions sum to ``score(x) - score(baseline)`` (completeness).
"""
from __future__ import annotations

import numpy as np

from . import autodiff
from .base import as_base


def integrated_gradients(model, images, targets=None, *, baseline=None, steps: int = 32,
                         layer=-1, batch_size: int = 128) -> np.ndarray:
    """Integrated Gradients by the midpoint rule over ``steps`` intervals.

    The midpoint rule is as accurate as the trapezoid (second order) and never evaluates
    the gradient at the baseline itself: on a black image every max-pooling window is a
    tie, the gradient there is a subgradient each backend picks differently (TensorFlow
    and JAX differ by orders of magnitude), and the trapezoid's end term carried that.

    Args:
        model: a Keras model or an ``Explainer``.
        images: model-ready inputs (N, H, W, C).
        baseline: an input of one image's shape, or None for zeros.

    Returns:
        (N, H, W, C) attributions; ``completeness_gap`` measures how close each image's
        sum comes to its score difference.
    """
    ex = as_base(model)
    x = np.asarray(images, np.float32)
    x0 = np.zeros_like(x[:1]) if baseline is None else np.broadcast_to(
        np.asarray(baseline, np.float32), x.shape[1:])[None]
    if targets is None:
        targets = ex.predicted_class(x)
    targets = [targets] * len(x) if np.ndim(targets) == 0 else list(targets)
    avg = np.zeros_like(x)
    for a in (np.arange(steps, dtype=np.float32) + 0.5) / steps:
        g, _ = ex.gradients(x0 + a * (x - x0), targets, layer=layer, batch_size=batch_size)
        avg += g / steps
    return (x - x0) * avg


def completeness_gap(model, images, attributions, targets, baseline=None,
                     layer=-1) -> np.ndarray:
    """Per image: |sum(attributions) - (score(x) - score(baseline))| / |score difference|."""
    ex = as_base(model)
    x = np.asarray(images, np.float32)
    x0 = np.zeros_like(x) if baseline is None else np.broadcast_to(
        np.asarray(baseline, np.float32), x.shape).copy()
    out = ex.predict(np.concatenate([x, x0]), layer, logits=True)
    w = ex.weights(targets, len(x), out.shape[-1])
    s = np.asarray(autodiff.score(out, np.concatenate([w, w])))
    diff = s[:len(x)] - s[len(x):]
    total = np.asarray(attributions).reshape(len(x), -1).sum(axis=1)
    return np.abs(total - diff) / np.maximum(np.abs(diff), 1e-7)
