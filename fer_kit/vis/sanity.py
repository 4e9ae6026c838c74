"""Do the maps explain the model? Adebayo et al. (2018)'s cascading randomization, and on
SynthFER how much of each map falls on the true expression (mask share).

A map that survives re-initializing the layers it is meant to explain shows the
image (its edges), not what the model learned. Adebayo et al. found guided backprop
nearly invariant to cascading randomization and plain gradients sensitive to it.
"""
from __future__ import annotations

import keras
import numpy as np
import pandas as pd
from scipy.stats import rankdata
from tqdm.auto import tqdm

from .backprop import saliency, scale_to_unit
from .attribution import integrated_gradients
from .cam import gradcam
from . import find
from .explainer import Explainer, as_explainer

METHODS = {
    "vanilla": lambda ex, x, t: saliency(ex, x, t),
    "guided": lambda ex, x, t: saliency(ex, x, t, modifier="guided"),
    "deconvnet": lambda ex, x, t: saliency(ex, x, t, modifier="deconvnet"),
    "smoothgrad": lambda ex, x, t: saliency(ex, x, t, smooth_samples=16),
    "integrated_gradients": lambda ex, x, t: scale_to_unit(np.abs(
        integrated_gradients(ex, x, t, steps=16)).max(axis=-1)),
    "gradcam": lambda ex, x, t: gradcam(ex, x, t),
    "gradcam++": lambda ex, x, t: gradcam(ex, x, t, plus=True),
}


def explain(model, images, targets=None, methods=None) -> dict[str, np.ndarray]:
    """Every method's (N, H, W) maps in [0, 1], as a dict (for plots and scores).

    Args:
        model: a Keras model or an ``Explainer`` (its graphs are reused).
        methods: names from ``METHODS`` (default: all).
    """
    ex = as_explainer(model)
    names = list(METHODS) if methods is None else list(methods)
    unknown = [m for m in names if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown method(s) {unknown}; known: {list(METHODS)}")
    x = np.asarray(images, np.float32)
    if targets is None:
        targets = ex.predicted_class(x)
    return {name: METHODS[name](ex, x, targets) for name in names}


def rank_corr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman rank correlation per pair of maps (N, ...) -> (N,)."""
    ra = rankdata(a.reshape(len(a), -1), axis=1)
    rb = rankdata(b.reshape(len(b), -1), axis=1)
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    return (ra * rb).sum(1) / np.sqrt((ra ** 2).sum(1) * (rb ** 2).sum(1) + 1e-12)


def weighted_layers(model: keras.Model) -> list:
    """Layers with a kernel-like trainable weight (Dense, convolutions), input to output,
    those inside nested models included (a backbone is randomized layer by layer)."""
    return [l for l in find.leaf_layers(model)
            if any(len(v.shape) >= 2 for v in l.trainable_weights)]


def cascading_randomization(model, images, targets=None, methods=None, seed: int = 0,
                            progress: bool = True) -> pd.DataFrame:
    """Adebayo et al. (2018)'s cascading model-parameter randomization test.

    Re-initializes the weighted layers from the top down (normal noise with each
    variable's own standard deviation), one more layer each step, on a copy of ``model``,
    and compares each method's maps with the trained model's by Spearman rank
    correlation (of the maps as shown: absolute values, scaled). ``model`` is not changed.

    Returns:
        DataFrame (step, layer, method, spearman): step 0 is the trained model;
        step k has the top k weighted layers randomized.
    """
    model = model.model if isinstance(model, Explainer) else model
    names = list(METHODS) if methods is None else list(methods)
    x = np.asarray(images, np.float32)
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    ex = Explainer(copy)  # its graphs share copy's variables: each step is seen at once
    if targets is None:
        targets = ex.predicted_class(x)
    ref = explain(ex, x, targets, names)
    rows = [{"step": 0, "layer": "(trained)", "method": m, "spearman": 1.0} for m in names]
    rng = np.random.default_rng(seed)
    layers = weighted_layers(copy)[::-1]
    for step, lay in enumerate(tqdm(layers, desc="randomizing", disable=not progress), 1):
        for v in lay.weights:
            value = keras.ops.convert_to_numpy(v)
            std = float(np.std(value)) or 0.05
            v.assign(rng.normal(0.0, std, v.shape).astype(value.dtype))
        maps = explain(ex, x, targets, names)
        for m in names:
            rows.append({"step": step, "layer": lay.name, "method": m,
                         "spearman": float(np.nanmean(rank_corr(ref[m], maps[m])))})
    return pd.DataFrame(rows)


def mask_share(maps: np.ndarray, masks: np.ndarray) -> pd.DataFrame:
    """Share of each map's total saliency on the ground-truth mask, next to the mask's area.

    A method that looks at the expression scores well above the area share.

    Returns:
        DataFrame per image: share, area, ratio (share / area).
    """
    maps = np.asarray(maps, np.float64).reshape(len(maps), -1)
    masks = np.asarray(masks, bool).reshape(len(masks), -1)
    if maps.shape != masks.shape:
        raise ValueError(f"maps {maps.shape} and masks {masks.shape} differ in shape")
    total = maps.sum(axis=1)
    share = np.divide((maps * masks).sum(axis=1), total, out=np.full(len(maps), np.nan),
                      where=total > 0)
    area = masks.mean(axis=1)
    return pd.DataFrame({"share": share, "area": area,
                         "ratio": share / np.where(area > 0, area, np.nan)})
