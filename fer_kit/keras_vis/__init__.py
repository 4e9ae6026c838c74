"""keras-vis on Keras 3: homework code runs after ``vis.`` becomes ``fer_kit.keras_vis.``.

    from fer_kit.keras_vis.visualization import visualize_saliency, visualize_cam
    from fer_kit.keras_vis.utils import utils
    from fer_kit.keras_vis.input_modifiers import Jitter

Which keras-vis: release 0.4.1 (July 2017), the last on PyPI and what
``pip install keras-vis`` gave students from then on; its arguments, defaults and return
values, down to ``visualize_saliency`` and ``visualize_cam`` returning (H, W, 3) uint8
jet-coloured images that homework code sums, thresholds and stitches. Two other
conventions are reachable:

* keras-vis's master branch (float (H, W) maps, ``wrt_tensor``, ``keepdims``; never
  released): ``fer_kit.keras_vis.master`` (``from fer_kit.keras_vis.master.visualization
  import visualize_saliency``);
* keras-vis 0.2's ``visualize_saliency(..., alpha=0.5)`` (spring 2017): the map blended
  with the image, through the same function.

Mirrors ``vis.visualization``, ``vis.utils.utils`` (and 0.3's ``vis.utils.vggnet``),
``vis.input_modifiers``, ``vis.grad_modifiers``, ``vis.backprop_modifiers`` and
``vis.callbacks``. Underneath is ``fer_kit.vis``: the model is never edited; a softmax
at ``layer_idx`` is read as its logits on a weight-sharing copy (keras-vis asked you to
swap it to linear yourself, which still works and then changes nothing); a backbone
model nested in the model is seen through. What keras-vis did that Keras 3 cannot (its
loss/optimizer classes built on TF1 graphs) raises an error naming the call to use.
"""
from . import backprop_modifiers, callbacks, grad_modifiers, input_modifiers, visualization
from . import utils  # the package, as vis.utils; its module: fer_kit.keras_vis.utils.utils

from . import master  # noqa: E402  (after visualization: master builds on it)

__all__ = ["backprop_modifiers", "callbacks", "grad_modifiers", "input_modifiers", "master",
           "utils", "visualization"]
