"""Keras 2 names that homework code imports, for Keras 3 on any backend.

The usual port of a 2017-2018 script changes its import lines only:

* ``from keras.preprocessing.image import ImageDataGenerator`` becomes
  ``from fer_kit.legacy.preprocessing.image import ImageDataGenerator``;
* ``from keras.utils import np_utils`` (or ``generic_utils``) becomes
  ``from fer_kit.legacy.utils import np_utils``;
* ``model.predict_classes(x)`` becomes ``predict_classes(model, x)``, with
  ``from fer_kit.legacy import predict_classes``.

The rest of what changed (``fit_generator``, ``K.gradients``, ``lr=``, ``'acc'``...) is a
line each in docs/porting.md.
"""
from . import preprocessing, utils
from .models import predict_classes, predict_proba

__all__ = ["predict_classes", "predict_proba", "preprocessing", "utils"]
