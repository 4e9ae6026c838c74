"""Small custom Keras layers, written with ``keras.ops`` so they run on any backend."""
from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="fer_kit")
class SamplewiseStandardize(keras.layers.Layer):
    """Each image to mean 0, std 1 over (H, W, C); an image with std < eps is only centred."""

    def __init__(self, eps: float = 1e-6, **kwargs):
        super().__init__(**kwargs)
        self.eps = eps

    def call(self, x):
        x = ops.cast(x, self.compute_dtype)
        mean = ops.mean(x, axis=(1, 2, 3), keepdims=True)
        std = ops.std(x, axis=(1, 2, 3), keepdims=True)
        return (x - mean) / ops.maximum(std, self.eps)

    def get_config(self):
        return {**super().get_config(), "eps": self.eps}
