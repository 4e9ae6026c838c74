"""Explaining a Keras 3 model: saliency, attribution, CAM, sanity checks, gradient ascent.

One technique a module (tf-keras-vis's layout):

=================  =======================================================================
module             what is in it
=================  =======================================================================
``find``           layers by index, name, path ('backbone/conv_b'), nested models opened
``surgery``        the weight-sharing graph copy: logits, backprop modifiers (the table)
``autodiff``       the backend seam: one gradient function per backend (TF, JAX, torch)
``base``           ``ExplainerBase``: a model's graphs, compiled functions, gradients
``explainer``      ``Explainer(model)``: the base with every technique as a method
``backprop``       ``saliency``: vanilla, guided, deconvnet, SmoothGrad; ``scale_to_unit``
``attribution``    ``integrated_gradients``, ``completeness_gap``
``cam``            ``gradcam`` (Grad-CAM, Grad-CAM++)
``ascent``         ``maximize`` (activation maximization), ``Ascent``, ``deprocess``
``features``       ``feature_maps``, ``kernels``, ``face_following`` and its P5 reading
``sanity``         ``explain``, ``cascading_randomization`` (Adebayo et al. 2018), its
                   ``sanity_verdict`` and ``adebayo_reading``; ``mask_share``, ``mask_reading``
=================  =======================================================================

keras-vis's calls (``visualize_saliency``, ``visualize_cam``, ``visualize_activation``)
live in ``fer_kit.keras_vis``, a drop-in for ``vis.*`` as keras-vis 0.4.1 had them (jet
images): ``from fer_kit.keras_vis.visualization import visualize_saliency``. Master's
float maps: ``fer_kit.keras_vis.master``. ``fer_kit.keras_vis`` is built on this package
and imports it, never the other way round.

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
from .features import face_following, face_following_reading, feature_maps, kernels
from .sanity import (METHODS, adebayo_reading, cascading_randomization, explain, mask_reading,
                     mask_share, rank_corr, sanity_verdict)
from .find import find_layer_idx, get_layer, last_conv_layer
from .surgery import MODIFIERS


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


#: keras-vis's names, once re-exported here; they live in fer_kit.keras_vis, which imports
#: this package (a re-export here would be an import against the package order)
_MOVED = {"visualize_saliency": "from fer_kit.keras_vis.visualization import visualize_saliency",
          "visualize_cam": "from fer_kit.keras_vis.visualization import visualize_cam",
          "visualize_activation": "from fer_kit.keras_vis.visualization import "
                                  "visualize_activation",
          "GRAD_MODIFIERS": "from fer_kit.keras_vis.grad_modifiers import NAMES"}


def __getattr__(name: str):
    """A one-line pointer for keras-vis's names, which moved to ``fer_kit.keras_vis``."""
    if name in _MOVED:
        raise AttributeError(f"fer_kit.vis.{name} is keras-vis's name and lives in "
                             f"fer_kit.keras_vis now: {_MOVED[name]}")
    raise AttributeError(f"module 'fer_kit.vis' has no attribute {name!r}")


__all__ = ["Ascent", "Explainer", "METHODS", "MODIFIERS", "adebayo_reading",
           "cascading_randomization", "completeness_gap", "deprocess", "explain", "as_explainer",
           "face_following", "face_following_reading", "feature_maps", "find_layer_idx",
           "get_layer", "gradcam", "gradients", "integrated_gradients", "kernels",
           "last_conv_layer", "mask_reading", "mask_share", "maximize", "normalize",
           "predicted_class", "rank_corr", "saliency", "sanity_verdict", "scale_to_unit",
           "smooth_gradients", "target_model"]
