"""Keras 2's ``keras.utils``: ``np_utils`` and ``generic_utils`` (both gone from Keras 3),
and their names at ``keras.utils`` as Keras 2 exported them."""
from keras.utils import Progbar, normalize, to_categorical

from . import generic_utils, np_utils

__all__ = ["Progbar", "generic_utils", "normalize", "np_utils", "to_categorical"]
