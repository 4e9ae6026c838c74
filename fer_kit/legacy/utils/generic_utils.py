"""Keras 2's ``keras.utils.generic_utils``: the names homework used (``Progbar`` for
progress in hand-written loops; custom objects for loading models), at their Keras 3 homes."""
from keras.saving import CustomObjectScope, custom_object_scope, get_custom_objects
from keras.utils import Progbar

__all__ = ["CustomObjectScope", "Progbar", "custom_object_scope", "get_custom_objects"]
