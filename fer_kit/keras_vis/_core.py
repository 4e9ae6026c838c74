"""What keras-vis computed, shared by its two conventions (``visualization``: release 0.4.1,
``master.visualization``: the unreleased master branch). They differ only in what they
hand back (a jet-coloured uint8 image or a float map) and in a few arguments; the
gradients, Grad-CAM's heatmap and the activation-maximization loop are here, once.

keras-vis scored ``filter_indices`` as its ActivationMaximization loss did: the mean over
the batch (and, for a conv layer, its spatial axes) of each listed unit, summed; None
means every unit (their mean). Gradients are taken on a weight-sharing copy
(``fer_kit.vis.Explainer``) with a softmax at ``layer_idx`` read as logits, and with any
model nested in the model opened (``fer_kit.vis.find``).
"""
from __future__ import annotations

import keras
import numpy as np
from keras import ops

from ..vis import autodiff, find
from ..vis.explainer import Explainer, as_explainer
from . import backprop_modifiers, grad_modifiers
from .callbacks import Print
from .utils import utils

_POOLING = ("MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D",
            "AveragePooling2D", "AveragePooling3D")


def seed_batch(model, seed_input) -> np.ndarray:
    """keras-vis's rule: add the batch axis only when it is missing."""
    x = np.asarray(seed_input, np.float32)
    rank = len(model.inputs[0].shape)
    if x.ndim == rank - 1:
        x = x[None]
    if x.ndim != rank:
        raise ValueError(f"seed_input has shape {x.shape}; model {model.name!r} takes "
                         f"{tuple(model.inputs[0].shape)} (the batch axis may be left out)")
    return x


def filter_weights(ex: Explainer, layer_idx, filter_indices, n: int) -> np.ndarray:
    """(n, units) weights for keras-vis's ActivationMaximization loss (a mean over the batch)."""
    units = int(ex.layer(layer_idx).output.shape[-1])
    w = np.zeros(units, np.float32)
    if filter_indices is None:
        w[:] = 1.0 / units
    else:
        # an int, a list, an array (``predict_classes``'s output), a list of arrays
        for idx in np.concatenate([np.ravel(v) for v in utils.listify(filter_indices)]):
            if not -units <= int(idx) < units:
                raise ValueError(f"filter index {idx} out of range: layer "
                                 f"{ex.layer(layer_idx).name!r} has {units} units")
            w[int(idx)] += 1.0
    return np.tile(w / n, (n, 1))


def _output_of(layer):
    try:
        return layer.output
    except (AttributeError, ValueError):  # a layer called several times has no one output
        return None


def wrt_layer(model, wrt_tensor):
    """The layer whose output is ``wrt_tensor`` (None for the model input), nested or not."""
    if wrt_tensor is None or any(wrt_tensor is t for t in model.inputs):
        return None
    for _, layer in find.walk(model):
        if _output_of(layer) is wrt_tensor:
            return layer
    raise ValueError("wrt_tensor is neither the model's input nor the output of one of its "
                     "layers; pass model.layers[i].output (or model.input)")


def saliency_gradients(model, layer_idx, filter_indices, seed_input, wrt_tensor=None,
                       backprop_modifier=None, grad_modifier="absolute") -> np.ndarray:
    """d(score)/d(input or wrt_tensor) for the whole seed batch, ``grad_modifier`` applied."""
    ex = as_explainer(model)
    x = seed_batch(ex.model, seed_input)
    w = filter_weights(ex, layer_idx, filter_indices, len(x))
    wrt = wrt_layer(ex.model, wrt_tensor)
    out = ex.gradients(x, layer=layer_idx, modifier=backprop_modifiers.to_kit(backprop_modifier),
                       wrt=wrt, weights=w)
    return grad_modifiers.get(grad_modifier)(out[0] if wrt is None else out[1])


# ---- Grad-CAM -----------------------------------------------------------------------------
def _is_conv_or_pooling(layer) -> bool:
    inner = getattr(layer, "layer", layer)  # a Wrapper (TimeDistributed...), as master did
    if isinstance(inner, keras.Model):
        return False
    name = type(inner).__name__
    return "Conv" in name or name in _POOLING


def penultimate_layer(model, layer_idx, penultimate_layer_idx):
    """keras-vis's default: the last Conv or (non-global) pooling layer before the layer
    just before ``layer_idx``, looked for inside nested models too."""
    walked = find.walk(model)
    end = find.position(model, layer_idx)
    if penultimate_layer_idx is None:
        for _, layer in reversed(walked[:max(end - 1, 0)]):
            if _is_conv_or_pooling(layer):
                return layer
        raise ValueError(f"Unable to determine penultimate Conv or Pooling layer for "
                         f"layer_idx: {layer_idx}; give penultimate_layer_idx")
    pen = find.get_layer(model, penultimate_layer_idx)
    if find.position(model, pen) > end:
        raise ValueError(f"penultimate_layer_idx ({penultimate_layer_idx}) needs to be before "
                         f"layer_idx ({layer_idx})")
    return pen


def cam_heatmap(model, layer_idx, filter_indices, seed_input, penultimate_layer_idx=None,
                backprop_modifier=None, grad_modifier=None) -> tuple[np.ndarray, tuple]:
    """Grad-CAM (Selvaraju et al. 2017) as keras-vis computed it, before resizing.

    Gradients at the penultimate layer are divided by their maximum, averaged per channel
    (over the batch too), the first image's channels weighted and summed, rectified.

    Returns:
        (heatmap (h, w) float32, the input's image size (H, W)).
    """
    ex = as_explainer(model)
    x = seed_batch(ex.model, seed_input)
    pen = penultimate_layer(ex.model, layer_idx, penultimate_layer_idx)
    w = filter_weights(ex, layer_idx, filter_indices, len(x))
    acts, grads, _ = ex.gradients(x, layer=layer_idx, wrt=pen, weights=w,
                                  modifier=backprop_modifiers.to_kit(backprop_modifier))
    grads = grad_modifiers.get(grad_modifier)(grads)
    grads = grads / (np.max(grads) + utils.EPSILON)
    weights = grads.mean(axis=tuple(range(grads.ndim - 1)))
    heatmap = np.maximum((acts[0] * weights).sum(axis=-1), 0).astype(np.float32)
    return heatmap, tuple(x.shape[1:-1])


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


def _rms_normalize(grads):
    """keras-vis 0.4.1's gradient normalization: to root-mean-square 1."""
    return grads / (np.sqrt(np.mean(grads ** 2)) + utils.EPSILON)


def _l2_normalize(grads):
    """keras-vis master's (K.l2_normalize): to L2 norm 1."""
    return grads / np.sqrt(max(float(np.sum(grads ** 2)), 1e-12))


NORMALIZERS = {"rms": _rms_normalize, "l2": _l2_normalize}


def maximize_activation(model, layer_idx, filter_indices=None, seed_input=None,
                        input_range=(0, 255), backprop_modifier=None, grad_modifier=None,
                        act_max_weight=1, lp_norm_weight=10, tv_weight=10, max_iter=200,
                        input_modifiers=None, callbacks=None, verbose=False,
                        normalize: str = "rms") -> np.ndarray:
    """keras-vis's activation maximization (Erhan et al. 2009): RMSProp steps on the
    normalized gradient of ``-act_max_weight * activation + lp_norm_weight * LPNorm +
    tv_weight * TV``; the input after the best step, deprocessed into ``input_range``
    (uint8 when both bounds are integers). ``normalize`` is 'rms' (0.4.1) or 'l2' (master).
    """
    ex = as_explainer(model)
    graph = ex.graph(layer_idx, modifier=backprop_modifiers.to_kit(backprop_modifier))
    lo, hi = input_range
    if seed_input is None:
        x = utils.random_array((1, *ex.model.inputs[0].shape[1:]), mean=np.mean(input_range),
                               std=0.05 * (hi - lo))
    else:
        x = seed_batch(ex.model, seed_input).copy()
    w = filter_weights(ex, layer_idx, filter_indices, len(x))
    step_fn = ex.compiled("keras_vis_activation", (id(graph),), lambda: autodiff.value_and_grad(
        _losses(graph), graph.variables))
    loss_weights = np.array([act_max_weight or 0, lp_norm_weight or 0, tv_weight or 0],
                            np.float32)
    norm, modify = NORMALIZERS[normalize], grad_modifiers.get(grad_modifier)
    input_modifiers = list(input_modifiers or [])
    callbacks = list(callbacks or []) + ([Print()] if verbose else [])
    names = ["ActivationMax Loss", "L-6.0 Norm Loss", "TV(2.0) Loss"]
    cache, best_loss, best = None, np.inf, None
    for i in range(max_iter):
        for m in input_modifiers:
            x = m.pre(x)
        (grads,), overall, named = step_fn([x.astype(np.float32)], w, loss_weights)
        overall = float(overall[0])
        grads = modify(norm(grads))
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


def unavailable(name: str, instead: str):
    """A stand-in for a keras-vis call built on TensorFlow 1 graph tensors."""
    def call(*args, **kwargs):
        raise NotImplementedError(
            f"{name} took keras-vis Loss objects built on TensorFlow 1 graph tensors, which "
            f"Keras 3 does not have; call {instead} instead")
    call.__name__ = name
    return call
