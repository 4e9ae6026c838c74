"""fer_kit._keras_internals: the behaviour of Keras internals that fer_kit relies on, pinned.

A Keras upgrade that changes one of them fails here first, with a message naming the
function in fer_kit/_keras_internals.py that needs a look. The references are written
with public Keras and NumPy only: the model called on data, a Dense layer's x @ W + b,
a convolution written out.
"""
from __future__ import annotations

import inspect

import keras
import numpy as np
import pytest

from fer_kit._keras_internals import linear_twin, run_graph

KERAS = f"Keras {keras.__version__}"


def _residual():
    """A functional model whose input feeds two branches (so the walk is a graph, not a chain)."""
    keras.utils.set_random_seed(0)
    inp = keras.Input((6, 6, 2), name="image")
    a = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv_a")(inp)
    b = keras.layers.Conv2D(4, 1, name="skip")(inp)
    h = keras.layers.Add(name="add")([a, b])
    out = keras.layers.Dense(3, activation="softmax", name="predictions")(
        keras.layers.GlobalAveragePooling2D(name="gap")(h))
    return keras.Model(inp, out, name="residual")


def _nested():
    keras.utils.set_random_seed(1)
    inner_in = keras.Input((6, 6, 2))
    inner = keras.Model(inner_in, keras.layers.Conv2D(5, 3, activation="relu", name="conv_in")(
        inner_in), name="backbone")
    inp = keras.Input((6, 6, 2))
    out = keras.layers.Dense(3, name="head")(keras.layers.Flatten(name="flat")(inner(inp)))
    return keras.Model(inp, out, name="transfer"), inner


# ---- run_graph: Functional._run_through_graph ---------------------------------------------
def test_functional_models_still_have_run_through_graph_with_its_arguments():
    model = _residual()
    fn = getattr(model, "_run_through_graph", None)
    assert fn is not None, (f"{KERAS} has no Functional._run_through_graph: "
                            "fer_kit/_keras_internals.py run_graph needs another walk")
    params = list(inspect.signature(fn).parameters)
    assert params[:3] == ["inputs", "operation_fn", "call_fn"], (
        f"{KERAS} changed Functional._run_through_graph's arguments to {params}: "
        "fer_kit/_keras_internals.py run_graph passes inputs, operation_fn=, call_fn=")


def test_run_graph_calls_each_layer_itself_in_order_and_recomputes_the_model():
    model = _residual()
    calls = []

    def call_fn(layer, *args, **kwargs):
        calls.append(layer)
        return layer(*args, **kwargs)
    inp = keras.Input((6, 6, 2))
    copy = keras.Model(inp, run_graph(model, [inp], call_fn))
    # the very layer objects (the copy shares the model's variables), each once, parents first
    assert [lay.name for lay in calls] == ["conv_a", "skip", "add", "gap", "predictions"] or \
        [lay.name for lay in calls] == ["skip", "conv_a", "add", "gap", "predictions"], (
        f"run_graph on {KERAS} called {[lay.name for lay in calls]}")
    assert all(lay is model.get_layer(lay.name) for lay in calls), (
        f"{KERAS}'s _run_through_graph no longer hands call_fn the model's own layers")
    assert {id(v) for v in copy.weights} == {id(v) for v in model.weights}
    x = np.random.default_rng(0).normal(size=(4, 6, 6, 2)).astype("float32")
    np.testing.assert_allclose(copy.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-6)


def test_run_graph_hands_a_nested_model_to_call_fn_as_one_layer():
    """surgery opens it from inside call_fn; the walk's returned tensors connect to the copy's
    input, so the nested layers' outputs can be outputs of the copy."""
    model, inner = _nested()
    seen, taps = [], {}

    def call_fn(layer, *args, **kwargs):
        seen.append(layer.name)
        y = run_graph(layer, args[0], call_fn) if isinstance(layer, keras.Model) else \
            layer(*args, **kwargs)
        taps[layer.name] = y
        return y
    inp = keras.Input((6, 6, 2))
    out = run_graph(model, [inp], call_fn)
    assert seen == ["backbone", "conv_in", "flat", "head"]
    copy = keras.Model(inp, [taps["conv_in"], out])  # raises if not connected to inp
    x = np.random.default_rng(1).normal(size=(2, 6, 6, 2)).astype("float32")
    conv, logits = copy.predict(x, verbose=0)
    np.testing.assert_allclose(conv, inner.predict(x, verbose=0), atol=1e-6)
    np.testing.assert_allclose(logits, model.predict(x, verbose=0), atol=1e-6)


def test_run_graph_walks_a_sequential_model_by_its_public_layers():
    keras.utils.set_random_seed(2)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, activation="relu"),
                              keras.layers.Dense(2)])
    inp = keras.Input((5,))
    copy = keras.Model(inp, run_graph(model, inp, lambda layer, *a, **k: layer(*a, **k)))
    x = np.random.default_rng(2).normal(size=(3, 5)).astype("float32")
    np.testing.assert_allclose(copy.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-6)


def test_public_clone_model_still_cannot_build_the_explainer_copies():
    """Why run_graph is not ``keras.models.clone_model``. If this fails, Keras lifted a
    limitation: move fer_kit.vis.surgery to clone_model and drop run_graph."""
    model, _ = _nested()
    delta = keras.Input((4, 4, 5), name="delta")

    def add_delta(layer, *args, **kwargs):
        y = layer(*args, **kwargs)
        return keras.layers.Add()([y, delta]) if layer.name == "backbone" else y
    with pytest.raises(ValueError, match="not connected"):  # an extra input: refused
        keras.models.clone_model(model, clone_function=lambda layer: layer,
                                 call_function=add_delta)
    # a nested model re-run on an intermediate tensor: the clone's outputs are copies,
    # not connected to the outer input, so the walk's own tensors are needed
    inp = keras.Input((6, 6, 2))
    mid = keras.layers.Rescaling(2.0)(inp)
    clone = keras.models.clone_model(model, input_tensors=mid, clone_function=lambda layer: layer)
    with pytest.raises(ValueError, match="not connected"):
        keras.Model(inp, clone.outputs)


# ---- linear_twin: a layer's __dict__ ------------------------------------------------------
def test_linear_twin_of_a_dense_layer_gives_its_logits_on_the_same_variables():
    keras.utils.set_random_seed(3)
    layer = keras.layers.Dense(4, activation="softmax")
    layer.build((None, 3))
    n_weights, activation = len(layer.weights), layer.activation
    twin = linear_twin(layer)
    assert twin.kernel is layer.kernel and twin.bias is layer.bias, (
        f"on {KERAS} a layer's variables are not plain attributes any more: "
        "fer_kit/_keras_internals.py linear_twin copies its __dict__")
    x = np.random.default_rng(3).normal(size=(5, 3)).astype("float32")
    w, b = (keras.ops.convert_to_numpy(v) for v in (layer.kernel, layer.bias))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(twin.call(x)), x @ w + b, atol=1e-5,
                               err_msg=f"on {KERAS} Dense.call no longer reads self.activation "
                               "from the instance: linear_twin does not give logits")
    # the user's layer is unchanged: same activation, no new variables
    assert layer.activation is activation and len(layer.weights) == n_weights
    layer.kernel.assign(np.zeros((3, 4), "float32"))  # a training step shows in the twin
    np.testing.assert_allclose(keras.ops.convert_to_numpy(twin.call(x)), np.broadcast_to(
        b, (5, 4)), atol=1e-6)


def test_linear_twin_of_a_conv_layer_gives_its_pre_activation():
    keras.utils.set_random_seed(4)
    layer = keras.layers.Conv2D(3, 2, activation="relu")
    layer.build((None, 4, 4, 2))
    x = np.random.default_rng(4).normal(size=(2, 4, 4, 2)).astype("float32")
    w, b = (keras.ops.convert_to_numpy(v) for v in (layer.kernel, layer.bias))
    # the convolution written out: valid padding, stride 1 (cross-correlation, as Keras)
    ref = np.zeros((2, 3, 3, 3), "float32")
    for i in range(3):
        for j in range(3):
            ref[:, i, j] = np.einsum("nhwc,hwcf->nf", x[:, i:i + 2, j:j + 2], w) + b
    assert (ref < 0).any()  # else relu and linear would agree and the check could not fail
    np.testing.assert_allclose(keras.ops.convert_to_numpy(linear_twin(layer).call(x)), ref,
                               atol=1e-5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x)), np.maximum(ref, 0),
                               atol=1e-5)  # the layer itself still applies its relu
