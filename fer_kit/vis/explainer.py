"""``Explainer(model)``: the weight-sharing graphs and compiled gradient functions of one model.

tf-keras-vis's ``Saliency(model)`` holds its model copy; so does this, for every
technique at once. A graph is built once per (layers, logits, modifier) and its
function compiled once, on first use, and both live on the object: no module-level
cache, nothing kept alive after the Explainer goes. Because the graphs share the
model's variables, a training step or a re-initialized layer shows in the next call.

    ex = fk.vis.Explainer(model)
    maps = ex.saliency(x, targets, modifier="guided")     # (N, H, W) in [0, 1]
    cams = ex.gradcam(x, targets)

The module functions (``fk.vis.saliency(model, x, ...)``) are one-off wrappers that
make an Explainer, use it and drop it; give them an Explainer instead of the model
to reuse its graphs. The graphs, scores and gradients are ``fer_kit.vis.base``'s
``ExplainerBase``, which the technique modules import; this module imports them and
adds one method per technique.
"""
from __future__ import annotations

import numpy as np

from .ascent import maximize
from .attribution import integrated_gradients
from .backprop import saliency
from .base import ExplainerBase
from .cam import gradcam
from .features import feature_maps
from .sanity import explain


class Explainer(ExplainerBase):
    """Graphs and gradient functions for explaining ``model`` (which is never changed),
    with every technique as a method.

    Args:
        model: a built Keras model (functional or Sequential), any input size; its first
            layers may be preprocessing (Rescaling, Normalization): gradients are then
            with respect to the raw input it takes.
    """

    def saliency(self, images, targets=None, **kwargs) -> np.ndarray:
        """``fer_kit.vis.backprop.saliency`` on this model's graphs."""
        return saliency(self, images, targets, **kwargs)

    def integrated_gradients(self, images, targets=None, **kwargs) -> np.ndarray:
        """``fer_kit.vis.attribution.integrated_gradients`` on this model's graphs."""
        return integrated_gradients(self, images, targets, **kwargs)

    def gradcam(self, images, targets=None, **kwargs) -> np.ndarray:
        """``fer_kit.vis.cam.gradcam`` on this model's graphs."""
        return gradcam(self, images, targets, **kwargs)

    def maximize(self, layer, filters, **kwargs):
        """``fer_kit.vis.ascent.maximize`` on this model's graphs."""
        return maximize(self, layer, filters, **kwargs)

    def feature_maps(self, layer, image) -> np.ndarray:
        """``fer_kit.vis.features.feature_maps`` on this model's graphs."""
        return feature_maps(self, layer, image)

    def explain(self, images, targets=None, methods=None) -> dict:
        """``fer_kit.vis.sanity.explain``: every method's maps, on this model's graphs."""
        return explain(self, images, targets, methods)


def as_explainer(model) -> Explainer:
    """``model`` itself if it is an Explainer, else a new one (for the one-off functions)."""
    if isinstance(model, Explainer):
        return model
    return Explainer(model.model if isinstance(model, ExplainerBase) else model)
