"""keras-vis 0.3's ``vis.utils.vggnet``: ``VGG16`` with a linear last layer.

keras-vis 0.3 shipped its own copy of Keras's VGG16 whose ``predictions`` layer had a
linear activation instead of softmax, so that class scores could be maximized directly.
Keras 3's ``keras.applications.VGG16`` does this with ``classifier_activation=None``;
this function calls it so. ``weights='imagenet'`` downloads Keras's ImageNet weights
(528 MB) on first use, as keras-vis's copy did; FER2013 homework imported it without
using it, and ``weights=None`` builds the network untrained.
"""
from __future__ import annotations

import keras


def VGG16(include_top: bool = True, weights="imagenet", input_tensor=None, input_shape=None,
          pooling=None, classes: int = 1000) -> keras.Model:
    """``keras.applications.VGG16`` with a linear ``predictions`` layer (keras-vis 0.3)."""
    return keras.applications.VGG16(include_top=include_top, weights=weights,
                                    input_tensor=input_tensor, input_shape=input_shape,
                                    pooling=pooling, classes=classes,
                                    classifier_activation=None)
