"""fer_kit: a Keras 3 teaching kit for facial-expression recognition (FER2013 / SynthFER).

    import fer_kit as fk
    fk.setup(seed=0)
    data = fk.data.load()

Only ``config`` loads at once; every other module (the data layer with pandas and
scikit-learn, the Keras ones) loads on first use, so ``fer-kit --help`` and argument
errors answer in a fraction of a second.
"""
from __future__ import annotations

import importlib
import os
import sys

from ._backend import select_backend as _select_backend

_select_backend()  # before anything imports Keras: KERAS_BACKEND=jax where TensorFlow is missing
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow loads: hide its C++ INFO lines

from . import config  # noqa: E402
from .config import EMOTIONS, IMAGE_SHAPE, NUM_CLASSES, get_profile, setup  # noqa: E402

__version__ = "0.2.0"  # the one place it is written (pyproject.toml reads it)
_LAZY = {"data", "resources", "preprocess", "augment", "models", "train",
         "evaluate", "plots", "vis", "keras_vis", "pretrained", "ablation", "theory",
         "notebooks"}


def __getattr__(name: str):
    if name in _LAZY:
        with config.quiet_native_stderr():  # TensorFlow's C++ start-up notices
            module = importlib.import_module(f".{name}", __name__)
            if "tensorflow" in sys.modules:  # its devices start now, not at the first op
                sys.modules["tensorflow"].config.list_logical_devices()
            return module
    raise AttributeError(f"module 'fer_kit' has no attribute {name!r}")


__all__ = ["EMOTIONS", "IMAGE_SHAPE", "NUM_CLASSES", "config", "get_profile", "setup",
           *sorted(_LAZY)]
