"""keras-vis 0.4 on Keras 3: homework code runs after ``vis.`` becomes ``fer_kit.keras_vis.``.

    from fer_kit.keras_vis.visualization import visualize_saliency, visualize_cam
    from fer_kit.keras_vis.utils import utils
    from fer_kit.keras_vis.input_modifiers import Jitter

Mirrors ``vis.visualization``, ``vis.utils.utils``, ``vis.input_modifiers``,
``vis.grad_modifiers``, ``vis.backprop_modifiers`` and ``vis.callbacks`` with keras-vis's
argument names, defaults and return conventions (a seed input with or without its
batch axis; maps min-max scaled over the batch, the first returned). Underneath is
``fer_kit.vis``: the model is never edited; a softmax at ``layer_idx`` is read as its
logits on a weight-sharing copy (keras-vis asked you to swap it to linear yourself,
which still works and then changes nothing). What keras-vis did that Keras 3 cannot
(its loss/optimizer classes built on TF1 graphs) raises an error naming the call to use.
"""
from . import backprop_modifiers, callbacks, grad_modifiers, input_modifiers, visualization
from . import utils  # the package, as vis.utils; its module: fer_kit.keras_vis.utils.utils

__all__ = ["backprop_modifiers", "callbacks", "grad_modifiers", "input_modifiers", "utils",
           "visualization"]
