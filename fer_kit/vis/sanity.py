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
from .base import ExplainerBase, as_base

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
    ex = as_base(model)
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
    model = model.model if isinstance(model, ExplainerBase) else model
    names = list(METHODS) if methods is None else list(methods)
    x = np.asarray(images, np.float32)
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    ex = ExplainerBase(copy)  # its graphs share copy's variables: each step is seen at once
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


def sanity_verdict(table: pd.DataFrame, pass_below: float = 0.5,
                   invariant_above: float = 0.9) -> pd.DataFrame:
    """Per method, whether its maps depend on the model's weights (Adebayo et al. 2018).

    A method that barely changes when only the output layer is random, or that keeps its
    rank correlation with every layer random, shows the image rather than the model.

    Args:
        table: ``cascading_randomization``'s rows (step, layer, method, spearman).
        pass_below: the rank correlation with every layer random must be below this.
        invariant_above: with the output layer alone random it must be below this too.

    Returns:
        One row per method, in the table's order: ``output_layer_only`` (step 1),
        ``cascade_mean`` (mean over the randomized steps), ``all_layers`` (the last step),
        ``passes``, and ``reason``: every rule a method fails, in words ("" where it passes).
    """
    steps = table[table["step"] > 0]  # step 0 is the trained model (correlation 1)
    at = lambda step: steps[steps["step"] == step].set_index("method")["spearman"]
    out = pd.DataFrame({"output_layer_only": at(1),
                        "cascade_mean": steps.groupby("method")["spearman"].mean(),
                        "all_layers": at(steps["step"].max())}).loc[steps["method"].unique()]
    invariant = out["output_layer_only"] >= invariant_above
    kept = out["all_layers"] >= pass_below
    out["passes"] = ~invariant & ~kept
    rules = (invariant, "nearly unchanged with the output layer random"), \
        (kept, "still like the trained model's with every layer random")
    out["reason"] = [" and ".join(text for failed, text in rules if failed[m]) for m in out.index]
    return out


def adebayo_reading(verdict: pd.DataFrame, model_name: str,
                    invariant_above: float = 0.9) -> str:
    """Whether Adebayo et al.'s finding (guided backprop nearly invariant to cascading
    randomization, plain gradients sensitive) holds for one model, in one sentence.

    Reproduced: guided's mean correlation over the cascade exceeds vanilla's by more than
    0.1, guided stays at or above ``invariant_above`` with the output layer random, and
    vanilla passes. Partly: only the first holds. Else not reproduced.

    Args:
        verdict: ``sanity_verdict``'s table; it must have the rows ``guided`` and ``vanilla``.
        model_name: how the sentence names the model.
        invariant_above: the threshold ``sanity_verdict`` was given.

    Raises:
        KeyError: when ``guided`` or ``vanilla`` was not among the methods randomized.
    """
    missing = [m for m in ("guided", "vanilla") if m not in verdict.index]
    if missing:
        raise KeyError(f"adebayo_reading: the sanity verdict has no row for {missing}; "
                       f"it has {list(verdict.index)} (randomize with methods including both)")
    g, v = verdict.loc["guided"], verdict.loc["vanilla"]
    less_sensitive = g["cascade_mean"] > v["cascade_mean"] + 0.1
    invariant = g["output_layer_only"] >= invariant_above
    finding = ("reproduced" if less_sensitive and invariant and v["passes"] else
               "partly reproduced: guided is the less sensitive, but it does change"
               if less_sensitive else "not reproduced: guided changes as much as vanilla")
    return (f"{model_name}: mean rank correlation over the cascade guided "
            f"{g['cascade_mean']:.2f}, vanilla {v['cascade_mean']:.2f}; with every layer "
            f"random guided {g['all_layers']:.2f}, vanilla {v['all_layers']:.2f}. "
            f"Adebayo et al.'s finding (guided nearly invariant, vanilla not) is {finding}.")


def mask_reading(maps: dict, masks: np.ndarray,
                 verdict: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Which methods put their saliency on the expression, beyond the noise between images,
    and whether those maps depend on the model's weights (notebook 05's reading).

    A method is on the expression when its mean ``ratio`` (``mask_share``: the map's
    share on the mask over the mask's share of the image) is above 1 by more than two
    standard errors over the images; a map spread evenly scores 1, so a ratio near 1 is
    no evidence either way.

    Args:
        maps: {method: (N, H, W) maps}.
        masks: (N, H, W) ground-truth masks.
        verdict: ``sanity_verdict``'s table (``all_layers`` and ``passes`` per method).

    Returns:
        (one row per method, by ratio: ``ratio``, ``ratio_se``, ``all_layers``,
        ``passes``; the text, three lines).
    """
    rows = {}
    for m, mp in maps.items():
        r = mask_share(mp, masks)["ratio"].dropna()
        rows[m] = {"ratio": r.mean(), "ratio_se": r.std(ddof=1) / np.sqrt(len(r))
                   if len(r) > 1 else np.nan}
    table = pd.DataFrame(rows).T.join(verdict[["all_layers", "passes"]]).sort_values(
        "ratio", ascending=False)
    above = table["ratio"] - 2 * table["ratio_se"] > 1
    passes = table["passes"].fillna(False).astype(bool)
    name = lambda idx: (", ".join(f"{m} {table.loc[m, 'ratio']:.2f}" for m in idx)  # noqa: E731
                        or "none")
    n = len(np.asarray(masks))
    lines = [f"On the expression (ratio above 1 by more than 2 standard errors over {n} "
             f"images) and dependent on the weights: {name(table.index[above & passes])}",
             "on the expression but failing the randomization test (the map follows the "
             "image more than the weights): "
             f"{name(table.index[above & ~passes])}",
             "not resolved above 1 (no more on the expression than a map spread evenly): "
             f"{name(table.index[~above])}"]
    return table, "\n".join(lines)
