"""keras-vis's ``vis.input_modifiers`` (0.4.1; master's is the same): changes to the image
before (``pre``) and after (``post``) each step of ``visualize_activation``."""
from __future__ import annotations

import numpy as np


class InputModifier:
    """Identity ``pre`` and ``post``; subclass and override either."""

    def pre(self, inp):
        return inp

    def post(self, inp):
        return inp


class Jitter(InputModifier):
    """Roll the image by a random offset each step (keras-vis 0.4.1's ``Jitter``).

    Args:
        jitter: per image axis, or one for all; a value below 1 is a fraction of that
            axis's size, else pixels (default 0.05). Shifts are drawn with NumPy's global
            random state, as keras-vis did.
    """

    def __init__(self, jitter=0.05):
        self.jitter = np.atleast_1d(np.asarray(jitter, np.float64))
        if np.any(self.jitter < 0):
            raise ValueError(f"Jitter value should be positive, got {jitter}")
        self._pixels = None

    def pre(self, img):
        dims = img.shape[1:-1]  # (N, *image dims, channels)
        if self._pixels is None:
            jit = np.repeat(self.jitter, len(dims)) if len(self.jitter) == 1 else self.jitter
            if len(jit) != len(dims):
                raise ValueError(f"Jitter needs one value or {len(dims)} (one per image "
                                 f"axis), got {len(jit)}")
            self._pixels = np.array([d * j if j < 1 else j for d, j in zip(dims, jit)], int)
        offsets = [np.random.randint(-v, v + 1) for v in self._pixels]
        return np.roll(img, offsets, axis=tuple(range(1, len(dims) + 1)))
