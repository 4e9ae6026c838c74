"""keras-vis's ``vis.utils`` package: ``from fer_kit.keras_vis.utils import utils`` (and
0.3's ``from fer_kit.keras_vis.utils.vggnet import VGG16``)."""
from . import utils, vggnet

__all__ = ["utils", "vggnet"]
