"""keras-vis's master branch ``vis.visualization`` (August 2017 onward, never released):
``visualize_saliency`` and ``visualize_cam`` return float maps in [0, 1], and
``wrt_tensor`` and ``keepdims`` exist. Code written for those conventions runs after
``from vis.visualization import X`` becomes
``from fer_kit.keras_vis.master.visualization import X``.
"""
from __future__ import annotations

import numpy as np
from scipy.ndimage import zoom

from .. import _core
from ..utils import utils
from ..visualization import get_num_filters, overlay  # the same on master

__all__ = ["get_num_filters", "overlay", "visualize_activation",
           "visualize_activation_with_losses", "visualize_cam", "visualize_cam_with_losses",
           "visualize_saliency", "visualize_saliency_with_losses"]


def visualize_saliency(model, layer_idx, filter_indices, seed_input, wrt_tensor=None,
                       backprop_modifier=None, grad_modifier="absolute",
                       keepdims=False) -> np.ndarray:
    """The gradient of ``filter_indices``'s activation at ``layer_idx`` with respect to the
    input (or ``wrt_tensor``), as keras-vis master computed it (Simonyan et al. 2014).

    Args:
        wrt_tensor: ``model.input`` or a layer's ``.output`` (a nested layer's too).
        keepdims: keep the channel axis; else the maximum over channels.
        The rest as ``fer_kit.keras_vis.visualization.visualize_saliency``.

    Returns:
        The first image's map, (H, W) (or (H, W, C) with ``keepdims``), min-max scaled to
        [0, 1] over the whole batch.
    """
    grads = _core.saliency_gradients(model, layer_idx, filter_indices, seed_input, wrt_tensor,
                                     backprop_modifier, grad_modifier)
    if not keepdims:
        grads = np.max(grads, axis=-1)
    return utils.normalize(grads)[0]


def visualize_cam(model, layer_idx, filter_indices, seed_input, penultimate_layer_idx=None,
                  backprop_modifier=None, grad_modifier=None) -> np.ndarray:
    """Grad-CAM (Selvaraju et al. 2017) as keras-vis master computed it: the heatmap of
    ``fer_kit.keras_vis._core.cam_heatmap`` zoomed to the input size (cubic spline,
    scipy's default) and min-max scaled.

    Returns:
        (H, W) heatmap in [0, 1].
    """
    heatmap, size = _core.cam_heatmap(model, layer_idx, filter_indices, seed_input,
                                      penultimate_layer_idx, backprop_modifier, grad_modifier)
    return utils.normalize(zoom(heatmap, [a / b for a, b in zip(size, heatmap.shape)]))


def visualize_activation(model, layer_idx, filter_indices=None, wrt_tensor=None,
                         seed_input=None, input_range=(0, 255), backprop_modifier=None,
                         grad_modifier=None, act_max_weight=1, lp_norm_weight=10,
                         tv_weight=10, **optimizer_params) -> np.ndarray:
    """keras-vis master's activation maximization: 0.4.1's loop
    (``fer_kit.keras_vis.visualization.visualize_activation``) with the gradient scaled
    to L2 norm 1 (``K.l2_normalize``) and ``wrt_tensor`` as the fourth argument.

    Raises:
        NotImplementedError: ``wrt_tensor`` other than the input (keras-vis then only
            computed gradients and never changed the image).
    """
    if _core.wrt_layer(_core.as_explainer(model).model, wrt_tensor) is not None:
        raise NotImplementedError(
            "visualize_activation with wrt_tensor other than the input: keras-vis only "
            "computed gradients then and never changed the image; for gradients w.r.t. a "
            "layer's output call visualize_saliency(..., wrt_tensor=...) or "
            "fer_kit.vis.Explainer(model).gradients(x, wrt=layer)")
    return _core.maximize_activation(
        model, layer_idx, filter_indices, seed_input, input_range, backprop_modifier,
        grad_modifier, act_max_weight, lp_norm_weight, tv_weight,
        max_iter=optimizer_params.pop("max_iter", 200),
        input_modifiers=optimizer_params.pop("input_modifiers", None),
        callbacks=optimizer_params.pop("callbacks", None),
        verbose=optimizer_params.pop("verbose", False), normalize="l2")


visualize_saliency_with_losses = _core.unavailable(
    "visualize_saliency_with_losses", "visualize_saliency or fer_kit.vis.Explainer.gradients")
visualize_cam_with_losses = _core.unavailable("visualize_cam_with_losses",
                                              "visualize_cam or fer_kit.vis.gradcam")
visualize_activation_with_losses = _core.unavailable(
    "visualize_activation_with_losses", "visualize_activation (its act_max_weight, "
    "lp_norm_weight, tv_weight) or fer_kit.vis.maximize")
