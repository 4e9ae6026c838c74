"""keras-vis's master branch conventions, for code written against GitHub's master after
August 2017: ``from vis.X import Y`` becomes ``from fer_kit.keras_vis.master.X import Y``.

Only ``visualization`` differs from release 0.4.1 (``fer_kit.keras_vis``, the default,
which is what ``pip install keras-vis`` gave and what most homework code used):

=====================================  ======================  ==========================
                                       0.4.1 (default)         master (here)
=====================================  ======================  ==========================
``visualize_saliency``, ``_cam``       (H, W, 3) uint8 jet     (H, W) float in [0, 1]
``visualize_saliency(wrt_tensor=,      absent                  present
keepdims=)``
``visualize_activation``'s 4th arg     ``seed_input``          ``wrt_tensor``
activation-maximization gradient       scaled to RMS 1         scaled to L2 norm 1
``utils.get_imagenet_label``           present                 ``lookup_imagenet_labels``
=====================================  ======================  ==========================

``utils``, ``input_modifiers``, ``grad_modifiers``, ``backprop_modifiers`` and
``callbacks`` are the same modules as ``fer_kit.keras_vis``'s, importable from here too.
"""
from __future__ import annotations

import sys

from .. import backprop_modifiers, callbacks, grad_modifiers, input_modifiers, utils
from . import visualization

# ``from fer_kit.keras_vis.master.utils import utils`` and the like: the shared modules
# answer under this package's name as well
for _name, _module in (("utils", utils), ("utils.utils", utils.utils),
                       ("input_modifiers", input_modifiers), ("grad_modifiers", grad_modifiers),
                       ("backprop_modifiers", backprop_modifiers), ("callbacks", callbacks)):
    sys.modules[f"{__name__}.{_name}"] = _module

__all__ = ["backprop_modifiers", "callbacks", "grad_modifiers", "input_modifiers", "utils",
           "visualization"]
