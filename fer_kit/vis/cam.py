"""Class activation maps: Grad-CAM (Selvaraju et al. 2017) and Grad-CAM++ (Chattopadhay
et al. 2018).

A conv layer's feature maps, weighted by how much the class score rises with each
(the spatial mean of its gradient; Grad-CAM++ weighs positive gradients pixel by
pixel), summed and rectified: a coarse map of where the evidence for the class is.
"""
from __future__ import annotations

import numpy as np
from scipy.ndimage import zoom

from . import find
from .backprop import scale_to_unit
from .base import as_base


def cam_weights(acts: np.ndarray, grads: np.ndarray, scores: np.ndarray,
                plus: bool = False) -> np.ndarray:
    """Per feature map weights (N, 1, 1, C) from activations and gradients (N, h, w, C).

    Grad-CAM++ uses the exp(score) form of Chattopadhay et al. (their eq. 19), as
    tf-keras-vis does.
    """
    if not plus:
        return grads.mean(axis=(1, 2), keepdims=True)
    e = np.exp(scores).reshape(-1, 1, 1, 1)
    d1 = e * grads
    d2, d3 = d1 * grads, d1 * grads * grads
    denom = 2.0 * d2 + d3 * acts.sum(axis=(1, 2), keepdims=True)
    alphas = d2 / np.where(d2 == 0.0, 1.0, denom)
    norm = alphas.sum(axis=(1, 2), keepdims=True)
    alphas = alphas / np.where(norm == 0.0, 1.0, norm)
    return (np.maximum(d1, 0) * alphas).sum(axis=(1, 2), keepdims=True)


def gradcam(model, images, targets=None, *, layer=None, plus: bool = False,
            expand: bool = True, scale: bool = True, modifier=None, target_layer=-1,
            batch_size: int = 128) -> np.ndarray:
    """Grad-CAM or Grad-CAM++ maps for a batch.

    Args:
        model: a Keras model or an ``Explainer``.
        layer: the conv layer to explain (default: the last one, wherever it is nested).
        plus: Grad-CAM++ weights.
        expand: upsample the maps (bilinear) to the input size.
        scale: min-max scale each map to [0, 1].
        modifier: backprop rule between the score and ``layer`` (keras-vis allowed
            'guided' here).
        target_layer: whose output is scored (default the model's output, as logits).

    Returns:
        (N, H, W) maps (the layer's size if not ``expand``), ReLU applied.
    """
    ex = as_base(model)
    conv = find.last_conv_layer(ex.model) if layer is None else ex.layer(layer)
    x = np.asarray(images, np.float32)
    acts, grads, scores = ex.gradients(x, targets, layer=target_layer, modifier=modifier,
                                       wrt=conv, batch_size=batch_size)
    if acts.ndim != 4:
        raise ValueError(f"layer {conv.name!r} outputs shape {acts.shape[1:]}; Grad-CAM needs "
                         "a 2-D feature map (h, w, channels): give a conv or pooling layer")
    cam = np.maximum((acts * cam_weights(acts, grads, scores, plus)).sum(axis=-1), 0)
    if expand:
        cam = zoom(cam, (1, x.shape[1] / cam.shape[1], x.shape[2] / cam.shape[2]), order=1)
    return scale_to_unit(cam) if scale else cam
