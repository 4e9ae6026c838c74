"""keras-vis's ``vis.utils`` package: ``from fer_kit.keras_vis.utils import utils``."""
from . import utils

__all__ = ["utils"]
