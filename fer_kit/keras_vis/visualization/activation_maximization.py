"""keras-vis 0.4.1's ``vis.visualization.activation_maximization``: ``visualize_activation``
with the release's signature (the seed image is the fourth argument; master put
``wrt_tensor`` there, see ``fer_kit.keras_vis.master``)."""
from __future__ import annotations

import numpy as np

from .. import _core


def visualize_activation(model, layer_idx, filter_indices=None, seed_input=None,
                         input_range=(0, 255), backprop_modifier=None, grad_modifier=None,
                         act_max_weight=1, lp_norm_weight=10, tv_weight=10,
                         **optimizer_params) -> np.ndarray:
    """The input that maximizes ``filter_indices`` at ``layer_idx`` (Erhan et al. 2009), by
    keras-vis 0.4.1's optimizer: RMSProp steps on the gradient, scaled to root-mean-square
    1, of ``-act_max_weight * activation + lp_norm_weight * LPNorm(6) + tv_weight * TV(2)``.

    Args:
        seed_input: the start, with or without its batch axis; default uniform noise
            standardized to the middle of ``input_range`` with sd 5% of it (NumPy's global
            random state, as keras-vis).
        input_range: the model's input range; integer bounds give a uint8 image.
        optimizer_params: keras-vis's ``Optimizer.minimize`` options: ``max_iter`` (200),
            ``input_modifiers`` (e.g. ``[Jitter(16)]``), ``callbacks``, ``verbose``.

    Returns:
        (H, W, C) image: the input after the best step, deprocessed into ``input_range``.

    Raises:
        TypeError: an option ``Optimizer.minimize`` did not take.
    """
    allowed = {"max_iter", "input_modifiers", "callbacks", "verbose"}
    unknown = sorted(set(optimizer_params) - allowed)
    if unknown:
        hint = (" (wrt_tensor came with keras-vis's master branch: use "
                "fer_kit.keras_vis.master.visualization)" if "wrt_tensor" in unknown else "")
        raise TypeError(f"visualize_activation got unexpected argument(s) {unknown}; keras-vis "
                        f"0.4.1's optimizer takes {sorted(allowed)}{hint}")
    return _core.maximize_activation(
        model, layer_idx, filter_indices, seed_input, input_range, backprop_modifier,
        grad_modifier, act_max_weight, lp_norm_weight, tv_weight,
        max_iter=optimizer_params.get("max_iter", 200),
        input_modifiers=optimizer_params.get("input_modifiers"),
        callbacks=optimizer_params.get("callbacks"),
        verbose=optimizer_params.get("verbose", False), normalize="rms")


visualize_activation_with_losses = _core.unavailable(
    "visualize_activation_with_losses", "visualize_activation (its act_max_weight, "
    "lp_norm_weight, tv_weight) or fer_kit.vis.maximize")
