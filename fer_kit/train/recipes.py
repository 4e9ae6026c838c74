"""Recipes: how the two source reports trained (optimizer, batch, epochs, early stopping,
data handling), as frozen dataclasses ``fit`` reads and a profile scales.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from ..augment import AugmentConfig
from ..config import Profile


@dataclass(frozen=True)
class Recipe:
    """How to train: optimizer, batch, epochs, early stopping, data handling.

    Attributes:
        name: recipe name.
        optimizer: a Keras optimizer name.
        learning_rate: its learning rate.
        batch_size: images per step.
        epochs: maximum epochs.
        patience: EarlyStopping patience on val_loss (None: no early stopping).
        val_fraction: share of the training pool held out for validation.
        flip_double: append mirrored training images (after the split).
        augment: random augmentation of training batches, or None.
        normalization: 'none', 'featurewise', 'samplewise' or 'samplewise+featurewise'.
        rescale: multiply pixels by this first (ImageDataGenerator's ``rescale``); 1/255
            puts them in [0, 1]. The seeds do not say; Keras homework code commonly does
            it, and raw 0-255 inputs train far slower at the demo width (README).
    """

    name: str
    optimizer: str = "nadam"
    learning_rate: float = 0.002
    batch_size: int = 128
    epochs: int = 200
    patience: int | None = 30
    val_fraction: float = 0.1
    flip_double: bool = False
    augment: AugmentConfig | None = None
    normalization: str = "none"
    rescale: float | None = 1 / 255

    def scaled(self, profile: Profile) -> "Recipe":
        """The recipe within the profile's budget (epochs, patience, batch size)."""
        return replace(self, epochs=min(self.epochs, profile.epochs),
                       patience=None if self.patience is None else min(self.patience,
                                                                       profile.patience),
                       batch_size=min(self.batch_size, profile.batch_size))


RECIPES = {
    # Seed 003 (a Keras homework report): Nadam(0.002), batch 128, up to 200 epochs,
    # EarlyStopping(val_loss, 30), ImageDataGenerator augmentation.
    "keras_vgg": Recipe("keras_vgg", augment=AugmentConfig.seed003()),
    # Seed 000 (a PyTorch homework report): batch 128, 40 epochs, flip doubling (its
    # optimizer is not stated: Adam).
    "torch_cnn": Recipe("torch_cnn", optimizer="adam", learning_rate=1e-3, epochs=40,
                        patience=None, flip_double=True),
}
# The names of the first releases, which read like random seeds; they still work.
ALIASES = {"seed003": "keras_vgg", "seed000": "torch_cnn"}


def get_recipe(recipe: "str | Recipe") -> Recipe:
    """A Recipe by name ('keras_vgg', 'torch_cnn', or an old alias), or the Recipe itself.

    Raises:
        ValueError: an unknown name (the message lists the known ones).
    """
    if isinstance(recipe, Recipe):
        return recipe
    name = ALIASES.get(recipe, recipe)
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {recipe!r}; known recipes: {', '.join(RECIPES)} "
                         f"(old names: {', '.join(ALIASES)})")
    return RECIPES[name]
