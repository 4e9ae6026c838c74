"""Keras 2 names that homework code imports, for Keras 3 on any backend.

The usual port of a 2017-2018 script changes its import lines only:

==============================================================  ===============================================================
Keras 2                                                         here
==============================================================  ===============================================================
``from keras.preprocessing.image import ImageDataGenerator``    ``from fer_kit.legacy.preprocessing.image import ImageDataGenerator``
``from keras.utils import np_utils``                            ``from fer_kit.legacy.utils import np_utils``
``from keras.utils import generic_utils``                       ``from fer_kit.legacy.utils import generic_utils``
``model.predict_classes(x)``                                    ``predict_classes(model, x)`` (``from fer_kit.legacy import predict_classes``)
==============================================================  ===============================================================

The rest of what changed (``fit_generator``, ``K.gradients``, ``lr=``, ``'acc'``...) is a
line each in docs/porting.md.
"""
from . import preprocessing, utils
from .models import predict_classes, predict_proba

__all__ = ["predict_classes", "predict_proba", "preprocessing", "utils"]
