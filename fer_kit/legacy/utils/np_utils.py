"""Keras 2's ``keras.utils.np_utils``: ``to_categorical`` and ``normalize``, which Keras 3
has at ``keras.utils``; ``from keras.utils import np_utils`` becomes
``from fer_kit.legacy.utils import np_utils``."""
from keras.utils import normalize, to_categorical

__all__ = ["normalize", "to_categorical"]
