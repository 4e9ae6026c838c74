"""The one place fer_kit calls a private Keras API: re-running a model's graph layer by layer.

``run_graph(model, inputs, call_fn)`` calls each layer of ``model`` again, in order, on new
symbolic inputs, through ``call_fn(layer, *args, **kwargs)``: the graph copy of
``fer_kit.vis.surgery`` is built this way, and a nested model is opened by calling
``run_graph`` on it from inside ``call_fn``.

Keras 3's public ``keras.models.clone_model(model, clone_function=..., call_function=...)``
runs the same walk (it calls ``Functional._run_through_graph``) but cannot build these
copies (checked on Keras 3.15, ``tests/test_nested.py`` pins both facts):

* it makes a ``Functional`` from the model's own inputs, so a copy that takes one more
  input (the zero ``delta`` added to a layer's output, whose gradient is the gradient
  with respect to that output on every backend) fails with "Output ... is not connected
  to `inputs`";
* it refuses ``call_function`` on a Sequential model;
* with ``recursive=True`` a nested model is cloned into a model of its own and called as
  one layer, so its inner outputs (a nested convolution for Grad-CAM) cannot be outputs
  of the copy.

A Sequential model is walked here with public attributes only (its ``layers`` in order).
"""
from __future__ import annotations

import keras


def run_graph(model: keras.Model, inputs, call_fn):
    """``model``'s outputs recomputed from ``inputs`` (a tensor, or a list for several
    inputs), each layer called through ``call_fn(layer, *args, **kwargs)``."""
    if isinstance(model, keras.Sequential):
        h = inputs[0] if isinstance(inputs, (list, tuple)) else inputs
        for layer in model.layers:
            h = call_fn(layer, h)
        return h
    if isinstance(inputs, (list, tuple)) and len(inputs) == 1:
        inputs = inputs[0]
    return model._run_through_graph(inputs, operation_fn=lambda layer: layer, call_fn=call_fn)
