"""keras-vis's ``vis.callbacks`` (0.4.1; master's is the same): called each step of
``visualize_activation``."""
from __future__ import annotations


class OptimizerCallback:
    """Subclass and override ``callback`` (each step) and ``on_end``."""

    def callback(self, i, named_losses, overall_loss, grads, wrt_value):
        pass

    def on_end(self):
        pass


class Print(OptimizerCallback):
    """Prints the losses each step (what ``verbose=True`` does)."""

    def callback(self, i, named_losses, overall_loss, grads, wrt_value):
        print(f"Iteration: {i + 1}, named_losses: {named_losses}, overall loss: "
              f"{overall_loss}")


class GifGenerator(OptimizerCallback):
    """Not available: keras-vis wrote GIFs with imageio, which fer_kit does not depend on."""

    def __init__(self, path):
        raise NotImplementedError(
            "GifGenerator is not ported: collect the images in your own OptimizerCallback "
            "(wrt_value is the current image) and write them with imageio.mimsave")
