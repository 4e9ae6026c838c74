"""fer_kit: a Keras 3 teaching kit for facial-expression recognition (FER2013 / SynthFER).

    import fer_kit as fk
    fk.setup(seed=0)
    data = fk.data.load()

Light modules load at once; the TensorFlow/Keras ones (models, train, vis, ...) load
on first use, so ``fer-kit synth`` and the data layer start in a fraction of a second.
"""
from __future__ import annotations

import importlib
import os
import sys

from ._backend import select_backend as _select_backend

_select_backend()  # before anything imports Keras: KERAS_BACKEND=jax where TensorFlow is missing
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow loads: hide its C++ INFO lines

from . import config, data  # noqa: E402
from .config import EMOTIONS, IMAGE_SHAPE, NUM_CLASSES, get_profile, setup  # noqa: E402

__version__ = "0.1.0"
_LAZY = {"preprocess", "augment", "pipeline", "models", "train", "evaluate", "plots", "layers",
         "vis", "keras_vis", "pretrained", "ablation", "theory", "notebooks"}


def __getattr__(name: str):
    if name in _LAZY:
        with config.quiet_native_stderr():  # TensorFlow's C++ start-up notices
            module = importlib.import_module(f".{name}", __name__)
            if "tensorflow" in sys.modules:  # its devices start now, not at the first op
                sys.modules["tensorflow"].config.list_logical_devices()
            return module
    raise AttributeError(f"module 'fer_kit' has no attribute {name!r}")


__all__ = ["EMOTIONS", "IMAGE_SHAPE", "NUM_CLASSES", "config", "data", "get_profile", "setup",
           *sorted(_LAZY)]
