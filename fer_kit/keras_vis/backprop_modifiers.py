"""keras-vis's ``vis.backprop_modifiers`` (0.4.1; master's is the same): 'guided' and
'rectified' (alias 'relu', 'deconv').

keras-vis overrode TensorFlow 1's gradient registry and reloaded the model; here each
returns a new model sharing the weights whose activations pass gradients by the rule
(``fer_kit.vis.surgery``). The visualize_* calls take the name or the function.
"""
from __future__ import annotations

from ..vis.explainer import Explainer

#: keras-vis's names -> fer_kit.vis's modifier
KIT_NAMES = {None: None, "guided": "guided", "rectified": "deconvnet", "relu": "deconvnet",
             "deconv": "deconvnet"}


def guided(model):
    """Guided backprop (Springenberg et al. 2015) on a weight-sharing copy of ``model``."""
    return Explainer(model).graph(-1, logits=False, modifier="guided")


def rectified(model):
    """Rectified gradients (the deconvnet, Zeiler & Fergus 2014) on a weight-sharing copy."""
    return Explainer(model).graph(-1, logits=False, modifier="deconvnet")


relu = deconv = rectified


def to_kit(identifier):
    """fer_kit.vis's modifier for a keras-vis identifier (a name, one of the functions above,
    or None)."""
    if callable(identifier):
        for name, fn in (("guided", guided), ("rectified", rectified)):
            if identifier is fn:
                return KIT_NAMES[name]
        raise ValueError(f"backprop_modifier {identifier!r} is not one of keras-vis's "
                         "(guided, rectified/relu/deconv); a custom gradient override needs "
                         "TF1's gradient registry: write the rule in fer_kit.vis.surgery")
    if identifier not in KIT_NAMES:
        raise ValueError(f"backprop_modifier must be one of {list(KIT_NAMES)}, got "
                         f"{identifier!r}")
    return KIT_NAMES[identifier]


def get(identifier):
    """keras-vis's lookup: the modifier function for a name (or the function itself)."""
    kit = to_kit(identifier)  # checks it
    if not isinstance(identifier, str):
        return identifier
    return guided if kit == "guided" else rectified
