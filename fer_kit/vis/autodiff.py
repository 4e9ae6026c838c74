"""The score ``fer_kit.vis`` differentiates, and the backend's gradient it differentiates with.

Every technique in ``fer_kit.vis`` is written in ``keras.ops`` except one step: the
gradient, which each backend computes its own way. That step is
``fer_kit.backend.autodiff`` (re-exported here, as ``value_and_grad`` and ``forward``),
shared with ``fer_kit.theory``. ``score`` is the quantity the techniques ask it for.
"""
from __future__ import annotations

from keras import ops

from ..backend.autodiff import forward, value_and_grad

__all__ = ["forward", "score", "value_and_grad"]


def score(out, weights):
    """Per image: the weighted sum over units of a layer's output (N, units) -> (N,).

    A conv output (N, h, w, filters) is averaged over its spatial axes first, so a
    filter's score is its mean activation (keras-vis's ActivationMaximization).
    """
    if len(out.shape) > 2:
        out = ops.mean(out, axis=tuple(range(1, len(out.shape) - 1)))
    return ops.sum(out * weights, axis=1)
