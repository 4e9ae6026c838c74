"""keras-vis 0.4.1's ``vis.visualization``: ``from vis.visualization import X`` becomes
``from fer_kit.keras_vis.visualization import X``, results included.

======================================  ==================================================
keras-vis 0.4.1                         here
======================================  ==================================================
``visualize_saliency``, ``visualize_cam``  (H, W, 3) uint8 jet images (``saliency``)
``visualize_activation``                (H, W, C) image, uint8 for an integer input range
``get_num_filters``, ``overlay``        the same
``visualize_*_with_losses``             raise: they took TensorFlow 1 graph tensors
======================================  ==================================================

The master branch's conventions (float maps, ``wrt_tensor``, ``keepdims``) are in
``fer_kit.keras_vis.master.visualization``.
"""
from __future__ import annotations

import numpy as np

from .activation_maximization import visualize_activation, visualize_activation_with_losses
from .saliency import (visualize_cam, visualize_cam_with_losses, visualize_saliency,
                       visualize_saliency_with_losses)


def get_num_filters(layer) -> int:
    """Filters of a conv layer (channels last), units of a Dense layer (keras-vis 0.4.1)."""
    return int(layer.output.shape[-1])


def overlay(array1, array2, alpha: float = 0.5) -> np.ndarray:
    """``alpha * array1 + (1 - alpha) * array2``, in array1's dtype (keras-vis 0.4.1)."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha needs to be in [0, 1], got {alpha}")
    if np.shape(array1) != np.shape(array2):
        raise ValueError(f"array1 {np.shape(array1)} and array2 {np.shape(array2)} differ in "
                         "shape")
    return (array1 * alpha + array2 * (1.0 - alpha)).astype(np.asarray(array1).dtype)


__all__ = ["get_num_filters", "overlay", "visualize_activation",
           "visualize_activation_with_losses", "visualize_cam", "visualize_cam_with_losses",
           "visualize_saliency", "visualize_saliency_with_losses"]
