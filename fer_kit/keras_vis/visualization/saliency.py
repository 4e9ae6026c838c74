"""keras-vis 0.4.1's ``vis.visualization.saliency``: ``visualize_saliency`` and
``visualize_cam`` return jet-coloured images, (H, W, 3) uint8, as the release did.

0.4.1 (July 2017, the last release on PyPI) and 0.3.x coloured the min-max scaled map
with matplotlib's jet colormap, ``np.uint8(cm.jet(map)[..., :3] * 255)``; homework code
sums, averages and thresholds those RGB values and stitches the images. The (H, W)
float map, ``wrt_tensor`` and ``keepdims`` came later on keras-vis's master branch,
never released: ``fer_kit.keras_vis.master.visualization`` has them.

``alpha=`` is keras-vis 0.2's form (spring 2017, what NTU ML2017 students had from
GitHub): the coloured map, zero where the scaled gradient is below 0.2, blended with the
seed image, ``uint8(seed * alpha + map * (1 - alpha))``.
"""
from __future__ import annotations

import numpy as np
from matplotlib import colormaps
from PIL import Image

from ...vis.explainer import as_explainer
from .. import _core
from ..utils import utils


def jet(values) -> np.ndarray:
    """keras-vis's colouring: matplotlib's jet of values in [0, 1], as uint8 RGB (..., 3)."""
    return np.uint8(colormaps["jet"](values)[..., :3] * 255)


def visualize_saliency(model, layer_idx, filter_indices, seed_input, backprop_modifier=None,
                       grad_modifier="absolute", alpha=None) -> np.ndarray:
    """The gradient of ``filter_indices``'s activation at ``layer_idx`` with respect to the
    input, as keras-vis 0.4.1 drew it (Simonyan et al. 2014; guided with
    ``backprop_modifier='guided'``, Springenberg et al. 2015).

    Args:
        model: a Keras model, or a ``fer_kit.vis.Explainer`` to reuse its graphs in a loop.
        layer_idx: index into ``model.layers`` (a name or 'backbone/layer' path works too).
        filter_indices: unit(s) to score: an int, a list (scores summed), None (all).
        seed_input: the image, with or without its batch axis; a batch is scored together
            and scaled together, and the first image's map returned, as keras-vis did.
        backprop_modifier: None, 'guided', 'relu'/'rectified'/'deconv'.
        grad_modifier: 'absolute' (default), 'relu', 'negate', 'invert', 'small_values',
            None or a function, applied before the maximum over channels.
        alpha: keras-vis 0.2's overlay (see the module docstring); None for 0.4.1's result.
            0.2 took it fifth, where 0.4.1 has ``backprop_modifier``: a number there is
            read as ``alpha``.

    Returns:
        (H, W, 3) uint8: the map (maximum over channels, min-max scaled over the batch)
        coloured with jet; with ``alpha``, blended with the image.
    """
    if isinstance(backprop_modifier, (int, float)) and not isinstance(backprop_modifier, bool):
        alpha, backprop_modifier = backprop_modifier, None  # 0.2's fifth argument was alpha
    grads = _core.saliency_gradients(model, layer_idx, filter_indices, seed_input,
                                     backprop_modifier=backprop_modifier,
                                     grad_modifier=grad_modifier)
    grads = np.max(grads, axis=-1)
    if alpha is None:
        return jet(utils.normalize(grads))[0]
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"`alpha` needs to be between [0, 1], got {alpha}")
    grads = grads / (np.max(grads) + utils.EPSILON)
    heatmap = jet(grads)
    heatmap[grads < 0.2] = 0  # keras-vis 0.2: "zero out low probabilities"
    seed = _core.seed_batch(as_explainer(model).model, seed_input)
    return np.uint8(seed * alpha + heatmap * (1.0 - alpha))[0]


def resize_bicubic(heatmap: np.ndarray, size: tuple) -> np.ndarray:
    """keras-vis 0.4.1's ``scipy.misc.imresize(heatmap, size, interp='bicubic', mode='F')``:
    a float image resized by Pillow's bicubic filter."""
    image = Image.fromarray(np.ascontiguousarray(heatmap, np.float32))
    return np.asarray(image.resize(size[::-1], Image.Resampling.BICUBIC), np.float32)


def visualize_cam(model, layer_idx, filter_indices, seed_input, penultimate_layer_idx=None,
                  backprop_modifier=None, grad_modifier=None) -> np.ndarray:
    """Grad-CAM (Selvaraju et al. 2017) as keras-vis 0.4.1 drew it.

    The penultimate layer is keras-vis's default, the last Conv or pooling layer before
    the layer before ``layer_idx`` (inside a nested backbone too), or
    ``penultimate_layer_idx``. The heatmap (``fer_kit.keras_vis._core.cam_heatmap``) is
    resized to the input with Pillow's bicubic filter, min-max scaled and coloured.

    Returns:
        (H, W, 3) uint8 jet-coloured heatmap.
    """
    heatmap, size = _core.cam_heatmap(model, layer_idx, filter_indices, seed_input,
                                      penultimate_layer_idx, backprop_modifier, grad_modifier)
    return jet(utils.normalize(resize_bicubic(heatmap, size)))


visualize_saliency_with_losses = _core.unavailable(
    "visualize_saliency_with_losses", "visualize_saliency or fer_kit.vis.Explainer.gradients")
visualize_cam_with_losses = _core.unavailable("visualize_cam_with_losses",
                                              "visualize_cam or fer_kit.vis.gradcam")
