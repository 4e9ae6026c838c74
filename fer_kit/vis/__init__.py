"""Explaining a Keras 3 model: saliency, attribution, CAM, sanity checks, gradient ascent.

One technique a module (tf-keras-vis's layout):

=================  =======================================================================
module             what is in it
=================  =======================================================================
``find``           layers by index, name, path ('backbone/conv_b'), nested models opened
``surgery``        the weight-sharing graph copy: logits, backprop modifiers (the table)
``autodiff``       the backend seam: one gradient function per backend (TF, JAX, torch)
``explainer``      ``Explainer(model)``: owns a model's graphs and compiled functions
``backprop``       ``saliency``: vanilla, guided, deconvnet, SmoothGrad; ``scale_to_unit``
``attribution``    ``integrated_gradients``, ``completeness_gap``
``cam``            ``gradcam`` (Grad-CAM, Grad-CAM++)
``ascent``         ``maximize`` (activation maximization), ``Ascent``, ``deprocess``
``features``       ``feature_maps``, ``kernels``
``sanity``         ``explain``, ``cascading_randomization`` (Adebayo et al. 2018), its
                   ``sanity_verdict`` and ``adebayo_reading``; ``mask_share``
=================  =======================================================================

keras-vis's calls (``visualize_saliency``, ``visualize_cam``, ``visualize_activation``)
live in ``fer_kit.keras_vis``, a drop-in for ``vis.*`` as keras-vis 0.4.1 had them (jet
images); they are re-exported here. Master's float maps: ``fer_kit.keras_vis.master``.

Every function takes a Keras model (a one-off Explainer is made and dropped) or an
``Explainer`` (its graphs are reused). The model you pass is never changed.
"""
from __future__ import annotations

import warnings

import numpy as np

from .ascent import Ascent, deprocess, maximize
from .attribution import completeness_gap, integrated_gradients
from .backprop import saliency, scale_to_unit, smooth_gradients
from .cam import gradcam
from .explainer import Explainer, as_explainer
from .features import feature_maps, kernels
from .sanity import (METHODS, adebayo_reading, cascading_randomization, explain, mask_share,
                     rank_corr, sanity_verdict)
from .find import find_layer_idx, get_layer, last_conv_layer
from .surgery import MODIFIERS

# keras-vis's three calls (after the modules above: fer_kit.keras_vis imports them)
from ..keras_vis.grad_modifiers import NAMES as GRAD_MODIFIERS  # noqa: E402
from ..keras_vis.visualization import (  # noqa: E402
    visualize_activation, visualize_cam, visualize_saliency)


def gradients(model, images, targets=None, **kwargs):
    """d(score)/d(input) for a batch: ``Explainer.gradients`` as a one-off call."""
    return as_explainer(model).gradients(images, targets, **kwargs)


def predicted_class(model, images) -> np.ndarray:
    """The model's top class per image."""
    return as_explainer(model).predicted_class(images)


def target_model(model, layer=-1, logits: bool = True, modifier=None):
    """The weight-sharing model from input to ``layer``'s output (``Explainer.graph``)."""
    return as_explainer(model).graph(layer, logits=logits, modifier=modifier)


def normalize(maps: np.ndarray) -> np.ndarray:
    """Deprecated name of ``scale_to_unit`` (min-max scaling, not a normalizer)."""
    warnings.warn("fk.vis.normalize is min-max scaling of maps; call fk.vis.scale_to_unit "
                  "(keras-vis's utils.normalize is in fer_kit.keras_vis.utils.utils)",
                  DeprecationWarning, stacklevel=2)
    return scale_to_unit(maps)


__all__ = ["Ascent", "Explainer", "GRAD_MODIFIERS", "METHODS", "MODIFIERS",
           "cascading_randomization", "completeness_gap", "deprocess", "explain", "as_explainer",
           "feature_maps", "find_layer_idx", "get_layer", "gradcam", "gradients",
           "integrated_gradients", "kernels", "last_conv_layer", "mask_share", "maximize",
           "normalize", "predicted_class", "rank_corr", "saliency", "scale_to_unit",
           "smooth_gradients", "target_model", "visualize_activation", "visualize_cam",
           "visualize_saliency"]
