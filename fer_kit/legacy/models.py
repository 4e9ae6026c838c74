"""Keras 2's Sequential-model methods that Keras 3 removed, as functions of the model."""
from __future__ import annotations

import numpy as np


def predict_classes(model, x, batch_size: int = 32, verbose: int = 0) -> np.ndarray:
    """Keras 2's ``model.predict_classes(x)``: the top class of each input (the argmax of
    the outputs), or for a single sigmoid output whether it exceeds 0.5 (as int32).

    ``model.predict_classes(x)`` becomes ``predict_classes(model, x)``.
    """
    proba = model.predict(x, batch_size=batch_size, verbose=verbose)
    if proba.shape[-1] > 1:
        return proba.argmax(axis=-1)
    return (proba > 0.5).astype("int32")


def predict_proba(model, x, batch_size: int = 32, verbose: int = 0) -> np.ndarray:
    """Keras 2's ``model.predict_proba(x)``: ``model.predict(x)`` (it warned when the
    outputs were not probabilities; a softmax or sigmoid output layer gives them)."""
    return model.predict(x, batch_size=batch_size, verbose=verbose)
