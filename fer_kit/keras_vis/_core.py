"""keras-vis's ``vis.visualization``: ``visualize_saliency``, ``visualize_cam``,
``visualize_activation`` (and ``overlay``), with keras-vis 0.4's arguments and results.

keras-vis scored ``filter_indices`` as ActivationMaximization did: the mean over the
batch (and, for a conv layer, its spatial axes) of each listed unit, summed; None
means every unit (their mean). The gradient is taken on a weight-sharing copy
(``fer_kit.vis.Explainer``) with a softmax at ``layer_idx`` read as logits.

Like keras-vis, each call builds its graph anew (about half a second on a small CNN);
in a loop over images pass ``ex = fer_kit.vis.Explainer(model)`` in place of ``model``
and the graph is built once.
"""
from __future__ import annotations

import numpy as np
from keras import ops
from scipy.ndimage import zoom

from ..vis import autodiff
from ..vis.explainer import Explainer, as_explainer
from . import backprop_modifiers, grad_modifiers
from .callbacks import Print
from .utils import utils

_POOLING = ("MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D",
            "AveragePooling2D", "AveragePooling3D")


# ---- shared pieces ------------------------------------------------------------------------
def _seed_batch(model, seed_input) -> np.ndarray:
    """keras-vis's rule: add the batch axis only when it is missing."""
    x = np.asarray(seed_input, np.float32)
    rank = len(model.inputs[0].shape)
    if x.ndim == rank - 1:
        x = x[None]
    if x.ndim != rank:
        raise ValueError(f"seed_input has shape {x.shape}; model {model.name!r} takes "
                         f"{tuple(model.inputs[0].shape)} (the batch axis may be left out)")
    return x


def _filter_weights(ex: Explainer, layer_idx, filter_indices, n: int) -> np.ndarray:
    """(n, units) weights for keras-vis's ActivationMaximization loss (a mean over the batch)."""
    units = int(ex.layer(layer_idx).output.shape[-1])
    w = np.zeros(units, np.float32)
    if filter_indices is None:
        w[:] = 1.0 / units
    else:
        for idx in utils.listify(filter_indices):
            if not -units <= int(idx) < units:
                raise ValueError(f"filter index {idx} out of range: layer "
                                 f"{ex.layer(layer_idx).name!r} has {units} units")
            w[int(idx)] += 1.0
    return np.tile(w / n, (n, 1))


def _wrt_layer(model, wrt_tensor):
    """The layer whose output is ``wrt_tensor`` (None for the model input)."""
    if wrt_tensor is None or any(wrt_tensor is t for t in model.inputs):
        return None
    for layer in model.layers:
        if getattr(layer, "_inbound_nodes", None) and any(
                wrt_tensor is t for node in layer._inbound_nodes for t in node.output_tensors):
            return layer
    raise ValueError("wrt_tensor is neither the model's input nor the output of one of its "
                     "layers; pass model.layers[i].output (or model.input)")


# ---- saliency -----------------------------------------------------------------------------
def visualize_saliency(model, layer_idx, filter_indices, seed_input, wrt_tensor=None,
                       backprop_modifier=None, grad_modifier="absolute", keepdims=False):
    """The gradient of ``filter_indices``'s activation at ``layer_idx`` w.r.t. the input
    (or ``wrt_tensor``): Simonyan et al. (2014); guided with ``backprop_modifier='guided'``.

    Returns:
        The first image's map, (H, W) (or (H, W, C) with ``keepdims``), min-max scaled to
        [0, 1] over the whole batch as keras-vis did.
    """
    ex = as_explainer(model)
    model = ex.model
    x = _seed_batch(model, seed_input)
    w = _filter_weights(ex, layer_idx, filter_indices, len(x))
    wrt = _wrt_layer(model, wrt_tensor)
    out = ex.gradients(x, layer=layer_idx, modifier=backprop_modifiers.to_kit(backprop_modifier),
                       wrt=wrt, weights=w)
    grads = out[0] if wrt is None else out[1]
    grads = grad_modifiers.get(grad_modifier)(grads)
    if not keepdims:
        grads = np.max(grads, axis=-1)
    return utils.normalize(grads)[0]


# ---- Grad-CAM -----------------------------------------------------------------------------
def _penultimate_layer(model, layer_idx, penultimate_layer_idx):
    """keras-vis's default: the last Conv or (non-global) pooling layer before ``layer_idx``."""
    layers = model.layers
    end = layer_idx if isinstance(layer_idx, int) else utils.find_layer_idx(model, layer_idx)
    end = end + len(layers) if end < 0 else end
    if penultimate_layer_idx is None:
        for layer in reversed(layers[:max(end - 1, 0)]):
            inner = getattr(layer, "layer", layer)  # a Wrapper (TimeDistributed...)
            name = type(inner).__name__
            if "Conv" in name or name in _POOLING:
                return layer
        raise ValueError(f"Unable to determine penultimate Conv or Pooling layer for "
                         f"layer_idx: {layer_idx}; give penultimate_layer_idx")
    pen = penultimate_layer_idx
    pen = utils.find_layer_idx(model, pen) if isinstance(pen, str) else pen
    pen = pen + len(layers) if pen < 0 else pen
    if pen > end:
        raise ValueError(f"penultimate_layer_idx ({penultimate_layer_idx}) needs to be before "
                         f"layer_idx ({layer_idx})")
    return layers[pen]


def visualize_cam(model, layer_idx, filter_indices, seed_input, penultimate_layer_idx=None,
                  backprop_modifier=None, grad_modifier=None):
    """Grad-CAM (Selvaraju et al. 2017) as keras-vis 0.4 computed it.

    Gradients at the penultimate layer are divided by their maximum, averaged per channel
    (over the batch too), the first image's channels weighted and summed, rectified,
    zoomed to the input size (cubic spline, scipy's default) and min-max scaled.

    Returns:
        (H, W) heatmap in [0, 1].
    """
    ex = as_explainer(model)
    model = ex.model
    x = _seed_batch(model, seed_input)
    pen = _penultimate_layer(model, layer_idx, penultimate_layer_idx)
    w = _filter_weights(ex, layer_idx, filter_indices, len(x))
    acts, grads, _ = ex.gradients(x, layer=layer_idx, wrt=pen, weights=w,
                                  modifier=backprop_modifiers.to_kit(backprop_modifier))
    grads = grad_modifiers.get(grad_modifier)(grads)
    grads = grads / (np.max(grads) + utils.EPSILON)
    weights = grads.mean(axis=tuple(range(grads.ndim - 1)))
    heatmap = np.maximum((acts[0] * weights).sum(axis=-1), 0)
    factors = [i / j for i, j in zip(x.shape[1:-1], heatmap.shape)]
    return utils.normalize(zoom(heatmap, factors))


# ---- activation maximization --------------------------------------------------------------
def _losses(graph, p: float = 6.0, beta: float = 2.0):
    """keras-vis's three losses on image ``img`` (batch of one): ActivationMaximization,
    LPNorm(p=6) and TotalVariation(beta=2), each normalized by the image's size."""
    def losses(inputs, w, weights):
        img = inputs[0]
        out = graph(img, training=False)
        out = out[0] if isinstance(out, (list, tuple)) else out
        act = -ops.sum(autodiff.score(out, w))
        size = float(np.prod(img.shape[1:]))
        lp = ops.power(ops.sum(ops.power(ops.abs(img), p)), 1.0 / p) / size
        dh = ops.square(img[:, 1:, :-1, :] - img[:, :-1, :-1, :])
        dw = ops.square(img[:, :-1, 1:, :] - img[:, :-1, :-1, :])
        tv = ops.sum(ops.power(dh + dw, beta / 2.0)) / size
        named = ops.stack([act, lp, tv])
        return ops.sum(named * weights)[None], named
    return losses


def visualize_activation(model, layer_idx, filter_indices=None, wrt_tensor=None,
                         seed_input=None, input_range=(0, 255), backprop_modifier=None,
                         grad_modifier=None, act_max_weight=1, lp_norm_weight=10,
                         tv_weight=10, max_iter=200, input_modifiers=None, callbacks=None,
                         verbose=False):
    """The input that maximizes ``filter_indices`` at ``layer_idx`` (Erhan et al. 2009), by
    keras-vis 0.4's optimizer: RMSProp steps on the gradient (scaled to RMS 1) of
    ``-act_max_weight * activation + lp_norm_weight * LPNorm + tv_weight * TV``.

    Args:
        seed_input: the start (with or without batch axis); default noise about the middle
            of ``input_range`` with sd 5% of it.
        input_range: the model's input range; integer bounds give a uint8 image.
        input_modifiers: e.g. ``[Jitter(16)]``, applied before (pre) and after (post) each step.
        callbacks: objects with ``callback(i, named_losses, overall_loss, grads, wrt_value)``
            and ``on_end()``.

    Returns:
        (H, W, C) image: the best step's input, deprocessed into ``input_range``.
    """
    ex = as_explainer(model)
    model = ex.model
    if _wrt_layer(model, wrt_tensor) is not None:
        raise NotImplementedError(
            "visualize_activation with wrt_tensor other than the input: keras-vis only "
            "computed gradients then and never changed the image; for gradients w.r.t. a "
            "layer's output call visualize_saliency(..., wrt_tensor=...) or "
            "fer_kit.vis.Explainer(model).gradients(x, wrt=layer)")
    graph = ex.graph(layer_idx, modifier=backprop_modifiers.to_kit(backprop_modifier))
    lo, hi = input_range
    if seed_input is None:
        x = utils.random_array((1, *model.inputs[0].shape[1:]), mean=np.mean(input_range),
                               std=0.05 * (hi - lo))
    else:
        x = _seed_batch(model, seed_input).copy()
    w = _filter_weights(ex, layer_idx, filter_indices, len(x))
    step_fn = ex.compiled("keras_vis_activation", (id(graph),), lambda: autodiff.value_and_grad(
        _losses(graph), graph.variables))
    loss_weights = np.array([act_max_weight, lp_norm_weight, tv_weight], np.float32)
    modify = grad_modifiers.get(grad_modifier)
    input_modifiers = list(input_modifiers or [])
    callbacks = list(callbacks or []) + ([Print()] if verbose else [])
    names = ["ActivationMax Loss", "L-6.0 Norm Loss", "TV(2.0) Loss"]
    cache, best_loss, best = None, np.inf, None
    for i in range(max_iter):
        for m in input_modifiers:
            x = m.pre(x)
        (grads,), overall, named = step_fn([x], w, loss_weights)
        overall = float(overall[0])
        grads = grads / (np.sqrt(np.mean(grads ** 2)) + utils.EPSILON)  # keras-vis: RMS to 1
        grads = modify(grads)
        for c in callbacks:
            c.callback(i, [(n, float(v)) for n, v, k in zip(names, named, loss_weights) if k],
                       overall, grads, x)
        cache = (np.zeros_like(grads) if cache is None else cache) * 0.95 + 0.05 * grads ** 2
        x = x - grads / np.sqrt(cache + utils.EPSILON)  # keras-vis's RMSProp step
        for m in reversed(input_modifiers):
            x = m.post(x)
        if overall < best_loss:  # keras-vis kept the input after the step of the best loss
            best_loss, best = overall, x.copy()
    for c in callbacks:
        c.on_end()
    img = utils.deprocess_input(best[0], input_range)
    if isinstance(lo, (int, np.integer)) and isinstance(hi, (int, np.integer)):
        img = np.clip(img, lo, hi).astype("uint8")
    return img


def overlay(array1, array2, alpha: float = 0.5) -> np.ndarray:
    """``alpha * array1 + (1 - alpha) * array2``, in array1's dtype."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha needs to be in [0, 1], got {alpha}")
    if np.shape(array1) != np.shape(array2):
        raise ValueError(f"array1 {np.shape(array1)} and array2 {np.shape(array2)} differ in "
                         "shape")
    return (array1 * alpha + array2 * (1.0 - alpha)).astype(np.asarray(array1).dtype)


def _with_losses(name, instead):
    def unavailable(*args, **kwargs):
        raise NotImplementedError(
            f"{name} took keras-vis Loss objects built on TensorFlow 1 graph tensors, which "
            f"Keras 3 does not have; call {instead} instead")
    unavailable.__name__ = name
    return unavailable


visualize_saliency_with_losses = _with_losses(
    "visualize_saliency_with_losses", "visualize_saliency or fer_kit.vis.Explainer.gradients")
visualize_cam_with_losses = _with_losses("visualize_cam_with_losses",
                                         "visualize_cam or fer_kit.vis.gradcam")
visualize_activation_with_losses = _with_losses(
    "visualize_activation_with_losses", "visualize_activation (its act_max_weight, "
    "lp_norm_weight, tv_weight) or fer_kit.vis.maximize")
