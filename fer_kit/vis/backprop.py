"""Backprop saliency: vanilla gradients, guided backprop, deconvnet, SmoothGrad.

Simonyan et al. (2014) read a class's sensitivity to each pixel off the gradient of its
logit; Springenberg et al. (2015) and Zeiler & Fergus (2014) change the backward rule
at each activation (``fer_kit.vis.surgery`` has the table); Smilkov et al. (2017)
average the gradient over noisy copies of the image.
"""
from __future__ import annotations

import numpy as np

from .base import as_base

_EPS = 1e-7


def scale_to_unit(maps: np.ndarray) -> np.ndarray:
    """Min-max scale each map (each item along the first axis) to [0, 1] for display.

    Not a normalizer of model inputs (those are ``fer_kit.preprocess``'s z-scores): this
    only stretches a finished map's range, as keras-vis and tf-keras-vis do.
    """
    maps = np.asarray(maps, np.float32)
    axes = tuple(range(1, maps.ndim))
    lo, hi = maps.min(axis=axes, keepdims=True), maps.max(axis=axes, keepdims=True)
    return (maps - lo) / (hi - lo + _EPS)


def smooth_gradients(model, images, targets, *, samples: int, noise: float = 0.2,
                     seed: int = 0, **kwargs) -> np.ndarray:
    """SmoothGrad (Smilkov et al. 2017): the mean gradient over ``samples`` noisy copies,
    noise sd ``noise`` times each image's value range. kwargs go to ``gradients``."""
    ex = as_base(model)
    x = np.asarray(images, np.float32)
    rng = np.random.default_rng(seed)
    axes = tuple(range(1, x.ndim))
    sigma = noise * (x.max(axis=axes, keepdims=True) - x.min(axis=axes, keepdims=True))
    total = np.zeros_like(x)
    for _ in range(samples):
        noisy = x + rng.normal(0.0, 1.0, x.shape).astype(np.float32) * sigma
        total += ex.gradients(noisy, targets, **kwargs)[0]
    return total / samples


def saliency(model, images, targets=None, *, layer=-1, modifier=None, absolute: bool = True,
             keepdims: bool = False, scale: bool = True, smooth_samples: int = 0,
             smooth_noise: float = 0.2, seed: int = 0, batch_size: int = 128) -> np.ndarray:
    """Saliency maps for a batch: vanilla, guided, deconvnet; SmoothGrad with ``smooth_samples``.

    Args:
        model: a Keras model or an ``Explainer`` (to reuse its graphs).
        images: model-ready inputs (N, H, W, C).
        targets: class (or filter) per image, one for all, lists to sum; None: predicted.
        layer: whose output is scored (default: the output, as logits).
        modifier: the backprop rule: None, 'guided' or 'deconvnet'.
        absolute: take |gradient| (the usual map); False keeps the sign.
        keepdims: keep the channel axis; else the maximum over channels.
        scale: min-max scale each map to [0, 1] (``scale_to_unit``).
        smooth_samples: SmoothGrad's number of noisy copies (0: plain gradients), noise sd
            ``smooth_noise`` times each image's value range.

    Returns:
        (N, H, W) maps, or (N, H, W, C) with ``keepdims``.
    """
    ex = as_base(model)
    x = np.asarray(images, np.float32)
    if targets is None:
        targets = ex.predicted_class(x)
    kw = dict(layer=layer, modifier=modifier, batch_size=batch_size)
    if smooth_samples > 0:
        g = smooth_gradients(ex, x, targets, samples=smooth_samples, noise=smooth_noise,
                             seed=seed, **kw)
    else:
        g = ex.gradients(x, targets, **kw)[0]
    if absolute:
        g = np.abs(g)
    if not keepdims:
        g = g.max(axis=-1)
    return scale_to_unit(g) if scale else g
