"""Keras 2's ``keras.preprocessing``: ``from fer_kit.legacy.preprocessing.image import
ImageDataGenerator``."""
from . import image

__all__ = ["image"]
