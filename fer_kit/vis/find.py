"""Finding layers, inside nested models too: by index, name, path or the layer itself.

A transfer-learning model wraps a backbone model (``keras.applications.MobileNetV2``, a
Sequential of conv blocks) as one of its layers: ``model.layers`` then lists the backbone
as a single entry, and its convolutions and ReLUs are one level down. Explaining such a
model needs those inner layers: Grad-CAM's default is the last convolution wherever it
is nested, and a student names a nested layer by its own name (``'conv_b'``) or by its
path (``'backbone/conv_b'``). ``walk`` lists every layer with its path, depth first, in
the order ``model.layers`` has them (input to output), a nested model just before its
own layers.
"""
from __future__ import annotations

import keras

CONV_TYPES = (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D,
              keras.layers.SeparableConv1D, keras.layers.SeparableConv2D,
              keras.layers.DepthwiseConv1D, keras.layers.DepthwiseConv2D)


def walk(model: keras.Model, prefix: str = "") -> list[tuple[str, keras.layers.Layer]]:
    """Every layer of ``model`` as (path, layer), nested models opened, input to output."""
    out = []
    for layer in model.layers:
        path = f"{prefix}{layer.name}"
        out.append((path, layer))
        if isinstance(layer, keras.Model):
            out.extend(walk(layer, path + "/"))
    return out


def leaf_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The layers that compute (every layer but the nested models themselves)."""
    return [layer for _, layer in walk(model) if not isinstance(layer, keras.Model)]


def _names(model) -> str:
    return ", ".join(path for path, _ in walk(model))


def find_layer_idx(model: keras.Model, name: str) -> int:
    """Index of the layer called ``name`` in ``model.layers`` (keras-vis's lookup).

    Raises:
        ValueError: no such layer, or it is inside a nested model (an index into
            ``model.layers`` cannot reach it: pass its name or path instead).
    """
    for i, layer in enumerate(model.layers):
        if layer.name == name:
            return i
    nested = [path for path, layer in walk(model) if layer.name == name or path == name]
    if nested:
        raise ValueError(f"layer {name!r} of model {model.name!r} is inside a nested model "
                         f"(path {nested[0]!r}): no index into model.layers reaches it; pass "
                         f"the name {name!r} or the path {nested[0]!r} as the layer instead")
    raise ValueError(f"model {model.name!r} has no layer {name!r}; layers: {_names(model)}")


def get_layer(model: keras.Model, layer) -> keras.layers.Layer:
    """A layer given as index (into ``model.layers``), name, path ('backbone/conv_b') or
    the layer itself. A name is looked up at the top level first, then inside nested
    models, where it must be unique."""
    if isinstance(layer, keras.layers.Layer):
        return layer
    if isinstance(layer, str):
        for candidate in model.layers:
            if candidate.name == layer:
                return candidate
        found = [(path, lay) for path, lay in walk(model) if path == layer or lay.name == layer]
        if len(found) == 1:
            return found[0][1]
        if len(found) > 1:
            raise ValueError(f"{len(found)} layers of model {model.name!r} are called "
                             f"{layer!r} ({', '.join(p for p, _ in found)}); give the path")
        raise ValueError(f"model {model.name!r} has no layer {layer!r}; layers: "
                         f"{_names(model)}")
    try:
        return model.layers[layer]
    except (IndexError, TypeError):
        raise ValueError(f"layer {layer!r} is not an index into the {len(model.layers)} "
                         f"layers of model {model.name!r}, nor a name, path or layer") from None


def position(model: keras.Model, layer) -> int:
    """Where ``layer`` comes in ``walk(model)`` (input to output)."""
    target = get_layer(model, layer)
    for i, (_, lay) in enumerate(walk(model)):
        if lay is target:
            return i
    raise ValueError(f"layer {target.name!r} is not part of model {model.name!r}")


def last_conv_layer(model: keras.Model, before=None) -> keras.layers.Layer:
    """The last convolutional layer (Grad-CAM's default) wherever it is nested, or the last
    one before ``before``."""
    layers = walk(model)
    end = len(layers) if before is None else position(model, before)
    for _, layer in reversed(layers[:end]):
        if isinstance(layer, CONV_TYPES):
            return layer
    raise ValueError(f"model {model.name!r} has no convolutional layer"
                     f"{'' if before is None else ' before ' + repr(before)}; give the layer")


def output_layer(layer: keras.layers.Layer) -> keras.layers.Layer:
    """The layer that computes ``layer``'s output: itself, or for a nested model the last
    layer inside it (followed down), e.g. to read a nested classifier's softmax as logits."""
    while isinstance(layer, keras.Model) and layer.layers:
        layer = layer.layers[-1]
    return layer
