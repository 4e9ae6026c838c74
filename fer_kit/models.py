"""Model builders: one ``build_*`` function per architecture, and a registry.

Every builder takes ``input_shape``, ``num_classes`` and a ``width`` multiplier
(channels and units scale with it, so the demo profile trains on a CPU), uses
only Keras layers (any backend), and names its layers so the notebooks can
refer to them: ``block1_conv1`` ... ``fc1`` ... ``predictions``.

    model = fk.models.build("vgg_selu", width=0.25)
    fk.models.names()  # ['cnn3', 'dnn', 'vgg_selu']
"""
from __future__ import annotations

import math
from collections.abc import Callable

import keras
import pandas as pd
from keras import layers

from .config import IMAGE_SHAPE, NUM_CLASSES

_REGISTRY: dict[str, Callable[..., keras.Model]] = {}


def register(fn: Callable[..., keras.Model]) -> Callable[..., keras.Model]:
    """Add a ``build_<name>`` function to the registry under ``<name>``."""
    _REGISTRY[fn.__name__.removeprefix("build_")] = fn
    return fn


def names() -> list[str]:
    """The registered model names."""
    return sorted(_REGISTRY)


def build(name: str, preprocessing: list | None = None, **kwargs) -> keras.Model:
    """Build a registered model by name (kwargs go to its builder).

    Args:
        preprocessing: layers to put in front (``fk.preprocess.preprocessing_layers``):
            the model then takes pixels, its input named "pixels".

    Raises:
        ValueError: for an unknown name (the message lists the known ones).
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(names())}")
    net = _REGISTRY[name](**kwargs)
    return with_preprocessing(net, preprocessing) if preprocessing is not None else net


def with_preprocessing(net: keras.Model, layers_in_front: list) -> keras.Model:
    """``net`` with ``layers_in_front`` before its first layer, as one flat model whose
    input, "pixels", takes uint8 or float images 0-255; every layer of ``net`` (and its
    weights) is shared, and its layers stay reachable by name (for ``fk.vis``).

    A functional model is re-run layer by layer on the new input by Keras's public
    ``clone_model`` (its layers reused, not copied), the front layers put in where a
    layer reads the input. A Sequential or subclassed model is wrapped as one layer.
    """
    pixels = keras.Input(net.input_shape[1:], name="pixels")
    front = []  # the front layers' output, made once, at the first layer that reads pixels

    def through_front(t):
        if t is not pixels:
            return t
        if not front:
            x = pixels
            for layer in layers_in_front:
                x = layer(x)
            front.append(x)
        return front[0]

    if isinstance(net, keras.Sequential) or getattr(net, "inputs", None) is None:
        return keras.Model(pixels, net(through_front(pixels)), name=net.name)

    def call_function(layer, *args, **kwargs):
        args, kwargs = keras.tree.map_structure(through_front, (args, kwargs))
        return layer(*args, **kwargs)
    copy = keras.models.clone_model(net, input_tensors=pixels, clone_function=lambda layer: layer,
                                    call_function=call_function)
    # a fresh model on the copy's outputs: clone_model would also copy net's compile state
    out = copy.outputs[0] if len(copy.outputs) == 1 else copy.outputs
    return keras.Model(pixels, out, name=net.name)


def _scaled(n: int, width: float) -> int:
    if width <= 0:
        raise ValueError(f"width must be > 0, got {width}")
    return max(1, int(round(n * width)))


@register
def build_vgg_selu(input_shape=IMAGE_SHAPE, num_classes: int = NUM_CLASSES, width: float = 1.0,
                   dropout: float = 0.5, bn_momentum: float = 0.99) -> keras.Model:
    """Seed 003's VGG-style CNN with SELU.

    3 blocks of [2 x Conv2D(3x3, same, SELU) -> BatchNorm -> MaxPool(2, same) -> Dropout]
    with 64/128/256 filters, then 3 x [Dense(512, SELU) -> BatchNorm -> Dropout] and a
    softmax. At width 1: 6,400,199 parameters, 6,396,231 trainable (as the report states).
    ``bn_momentum`` is Keras's default, 0.99; a run of a few hundred steps needs a faster
    one (0.9), or the moving statistics lag the weights and validation predictions
    collapse to one class while training accuracy rises.
    """
    x = inputs = keras.Input(input_shape, name="image")
    for b, filters in enumerate((64, 128, 256), start=1):
        for c in (1, 2):
            x = layers.Conv2D(_scaled(filters, width), 3, padding="same", activation="selu",
                              name=f"block{b}_conv{c}")(x)
        x = layers.BatchNormalization(momentum=bn_momentum, name=f"block{b}_bn")(x)
        x = layers.MaxPooling2D(2, padding="same", name=f"block{b}_pool")(x)
        x = layers.Dropout(dropout, name=f"block{b}_drop")(x)
    x = layers.Flatten(name="flatten")(x)
    for k in (1, 2, 3):
        x = layers.Dense(_scaled(512, width), activation="selu", name=f"fc{k}")(x)
        x = layers.BatchNormalization(momentum=bn_momentum, name=f"fc{k}_bn")(x)
        x = layers.Dropout(dropout, name=f"fc{k}_drop")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions",
                           dtype="float32")(x)  # float32 softmax under mixed precision
    return keras.Model(inputs, outputs, name="vgg_selu")


@register
def build_cnn3(input_shape=IMAGE_SHAPE, num_classes: int = NUM_CLASSES, width: float = 1.0,
               dropout: float = 0.5, bn_momentum: float = 0.99) -> keras.Model:
    """Seed 000's three-layer CNN (PyTorch there), in Keras.

    Conv 3x3/64, 6x6/128, 4x4/256 (valid) -> BN -> LeakyReLU(0.1) -> MaxPool(2) each:
    48 -> 23x23x64 -> 9x9x128 -> 3x3x256; then FC 2304 -> 1024 -> 128 -> classes with
    LeakyReLU(0.1) and Dropout(0.5). At width 1: 3,314,439 parameters (3,313,543 trainable:
    PyTorch's count, which leaves out BatchNorm's running statistics).
    """
    x = inputs = keras.Input(input_shape, name="image")
    for b, (filters, kernel) in enumerate(((64, 3), (128, 6), (256, 4)), start=1):
        x = layers.Conv2D(_scaled(filters, width), kernel, padding="valid", name=f"conv{b}")(x)
        x = layers.BatchNormalization(momentum=bn_momentum, name=f"conv{b}_bn")(x)
        x = layers.LeakyReLU(0.1, name=f"conv{b}_act")(x)
        x = layers.MaxPooling2D(2, name=f"conv{b}_pool")(x)
    x = layers.Flatten(name="flatten")(x)
    for k, units in enumerate((1024, 128), start=1):
        x = layers.Dense(_scaled(units, width), name=f"fc{k}")(x)
        x = layers.LeakyReLU(0.1, name=f"fc{k}_act")(x)
        x = layers.Dropout(dropout, name=f"fc{k}_drop")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions",
                           dtype="float32")(x)  # float32 softmax under mixed precision
    return keras.Model(inputs, outputs, name="cnn3")


def dnn_units_for(params: int, input_size: int, num_classes: int, depth: int) -> int:
    """Hidden width h so that ``build_dnn`` with ``depth`` layers has about ``params``.

    build_dnn counts (input+1) h + (depth-1)(h+1) h + 4h per BatchNorm + (h+1) classes,
    a quadratic in h: (depth-1) h^2 + (input + depth + 4 depth + classes) h + classes.
    """
    a = depth - 1
    b = input_size + 1 + (depth - 1) + 4 * depth + num_classes
    c = num_classes - params
    h = (-b + math.sqrt(b * b - 4 * a * c)) / (2 * a) if a else -c / b
    return max(1, int(round(h)))


@register
def build_dnn(input_shape=IMAGE_SHAPE, num_classes: int = NUM_CLASSES, width: float = 1.0,
              depth: int = 3, units: int | None = None, match: str | None = "vgg_selu",
              dropout: float = 0.5, bn_momentum: float = 0.99) -> keras.Model:
    """A fully-connected baseline of about the same size as a CNN.

    Flatten -> depth x [Dense(units, SELU) -> BatchNorm -> Dropout] -> softmax. With
    ``units=None`` the width is solved so the parameter count matches the model named by
    ``match`` at the same ``width`` (within 1%): the course asks to compare a CNN with a
    DNN of similar size.
    """
    size = math.prod(input_shape)
    if units is None:
        if match is None:
            raise ValueError("give units, or match= the name of a model to match in size")
        target = build(match, input_shape=input_shape, num_classes=num_classes,
                       width=width).count_params()
        units = dnn_units_for(target, size, num_classes, depth)
    x = inputs = keras.Input(input_shape, name="image")
    x = layers.Flatten(name="flatten")(x)
    for k in range(1, depth + 1):
        x = layers.Dense(units, activation="selu", name=f"fc{k}")(x)
        x = layers.BatchNormalization(momentum=bn_momentum, name=f"fc{k}_bn")(x)
        x = layers.Dropout(dropout, name=f"fc{k}_drop")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions",
                           dtype="float32")(x)  # float32 softmax under mixed precision
    return keras.Model(inputs, outputs, name="dnn")


def conv_layer_names(model: keras.Model) -> list[str]:
    """Names of the model's Conv2D layers, first to last."""
    return [layer.name for layer in model.layers if isinstance(layer, layers.Conv2D)]


def param_table(named: dict[str, keras.Model]) -> pd.DataFrame:
    """Parameters per layer for several models side by side (layers matched by name),
    with the totals last: the full-width model beside the profile's, say, so the number
    quoted in a report is the one that was meant.

    Args:
        named: {column label: model}.
    """
    cols = {}
    for label, model in named.items():
        cols[label] = pd.Series({lay.name: lay.count_params() for lay in model.layers
                                 if lay.count_params()}, dtype="int64")
    table = pd.DataFrame(cols).fillna(0).astype("int64")
    table.loc["total"] = [m.count_params() for m in named.values()]
    table.loc["trainable"] = [sum(math.prod(w.shape) for w in m.trainable_weights)
                              for m in named.values()]
    return table.rename_axis("layer")
