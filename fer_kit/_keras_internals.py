"""The only place fer_kit relies on Keras internals: two calls, each pinned by a test.

Checked on Keras 3.15.1 (TensorFlow, JAX and PyTorch backends); ``tests/test_keras_internals.py``
pins the behaviour each one is relied on for, so a Keras upgrade that changes it fails
there first, with a message that names the function here.

``run_graph(model, inputs, call_fn)``
    Calls each layer of a model again, in order, on new symbolic inputs, through
    ``call_fn(layer, *args, **kwargs)``: ``fer_kit.vis.surgery`` builds its weight-sharing
    copies this way, and opens a nested model by calling ``run_graph`` on it from inside
    ``call_fn``. For a functional model it is ``Functional._run_through_graph``, the walk
    behind Keras's public ``keras.models.clone_model(model, clone_function=...,
    call_function=...)``. ``clone_model`` cannot build these copies:

    * it makes a ``Functional`` from the model's own inputs, so a copy that takes one
      more input (the zero ``delta`` added to a layer's output, whose gradient is the
      gradient with respect to that output on every backend) fails with "Output ... is
      not connected to `inputs`";
    * its result is a new model, whose output tensors are copies when its inputs are
      intermediate tensors: a nested model opened from inside ``call_fn`` (its inner
      outputs, a nested convolution for Grad-CAM, become outputs of the copy) needs the
      tensors the walk returns, which only ``_run_through_graph`` hands back.

    A Sequential model is walked with public attributes only (its ``layers`` in order).
    ``fer_kit.models.with_preprocessing`` needs neither of the two and uses ``clone_model``.

``linear_twin(layer)``
    A shallow copy of a layer that holds the very same variable objects, with a linear
    activation: its ``call`` gives a softmax layer's logits, or the pre-activation a
    backprop modifier needs, without touching the user's layer (setting
    ``layer.activation`` even for the length of a call would change the user's model,
    and ``copy.copy`` goes through ``get_config`` and makes new variables). It relies on
    a built layer keeping its variables and ``activation`` as instance attributes that
    ``call`` reads; no public Keras call gives a layer's pre-activation output.
"""
from __future__ import annotations

import keras


def run_graph(model: keras.Model, inputs, call_fn):
    """``model``'s outputs recomputed from ``inputs`` (a tensor, or a list for several
    inputs), each layer called through ``call_fn(layer, *args, **kwargs)``.

    Args:
        model: a functional or Sequential Keras model.
        inputs: symbolic tensors (``keras.Input`` or tensors computed from them).
        call_fn: called once per layer, input to output, with the layer itself (no
            copy) and the arguments of its call in ``model``; returns its output.

    Returns:
        The output tensor(s), in the structure of ``model.outputs``.
    """
    if isinstance(model, keras.Sequential):
        h = inputs[0] if isinstance(inputs, (list, tuple)) else inputs
        for layer in model.layers:
            h = call_fn(layer, h)
        return h
    if isinstance(inputs, (list, tuple)) and len(inputs) == 1:
        inputs = inputs[0]
    # private: Functional._run_through_graph (see the module docstring for why)
    return model._run_through_graph(inputs, operation_fn=lambda layer: layer, call_fn=call_fn)


def linear_twin(layer: keras.layers.Layer) -> keras.layers.Layer:
    """A shallow copy of ``layer`` holding the same variable objects, activation linear.

    The twin is meant for ``twin.call(x)`` only: it is never called through
    ``__call__``, so no graph node is added and nothing is tracked twice.
    """
    twin = object.__new__(type(layer))
    # private: a Keras layer's state lives in its __dict__ (see the module docstring)
    twin.__dict__.update(layer.__dict__)
    twin.__dict__["activation"] = keras.activations.linear
    return twin
