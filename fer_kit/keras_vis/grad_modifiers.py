"""keras-vis's ``vis.grad_modifiers`` (0.4.1; master's is the same): functions applied to a
computed gradient (NumPy)."""
from __future__ import annotations

import numpy as np

EPSILON = 1e-7  # keras.backend.epsilon(), as keras-vis used
NAMES = ("absolute", "invert", "negate", "relu", "small_values")


def negate(grads):
    """-grads: what lowers the score."""
    return -np.asarray(grads)


def absolute(grads):
    """|grads|: keras-vis's saliency default."""
    return np.abs(grads)


def invert(grads):
    """1 / (grads + eps): large where the gradient is small."""
    return 1.0 / (np.asarray(grads) + EPSILON)


def relu(grads):
    """max(grads, 0): what raises the score."""
    return np.maximum(grads, 0.0)


def small_values(grads):
    """|1 / (grads + eps)|: where small changes do nothing (keras-vis's 'small_values')."""
    return absolute(invert(grads))


def get(identifier):
    """A grad modifier from its name, a function, or None (the identity)."""
    if identifier is None:
        return lambda grads: grads
    if callable(identifier):
        return identifier
    if identifier in NAMES:
        return globals()[identifier]
    raise ValueError(f"grad_modifier must be one of {NAMES}, None or a function, got "
                     f"{identifier!r}")
