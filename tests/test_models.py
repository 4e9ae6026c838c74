"""Model builders: the seeds' exact parameter counts, shapes, names, the size-matched DNN."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from fer_kit import models


# Parameter counts and shapes are arithmetic on the layer configs, the same on every
# backend: they run in the first pass only (tests/conftest.py); the forward passes below
# run on each backend.
arithmetic = pytest.mark.one_pass


def _trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


@arithmetic
def test_vgg_selu_matches_seed_003_counts():
    m = models.build("vgg_selu")
    assert m.count_params() == 6_400_199
    assert _trainable(m) == 6_396_231
    assert m.output_shape == (None, 7)
    assert [m.get_layer(f"block{b}_pool").output.shape[1] for b in (1, 2, 3)] == [24, 12, 6]


@arithmetic
def test_cnn3_matches_seed_000_shapes_and_counts():
    m = models.build("cnn3")
    assert [tuple(m.get_layer(f"conv{b}_pool").output.shape[1:]) for b in (1, 2, 3)] == [
        (23, 23, 64), (9, 9, 128), (3, 3, 256)]
    assert m.get_layer("flatten").output.shape[1] == 2304
    assert m.count_params() == 3_314_439
    assert _trainable(m) == 3_313_543  # PyTorch's parameter count for the seed's model


@arithmetic
@pytest.mark.parametrize("width", [1.0, 0.25, 0.125])
def test_dnn_is_within_1_percent_of_the_cnn(width):  # the issue asks 5%; the docs promise 1%
    cnn = models.build("vgg_selu", width=width).count_params()
    dnn = models.build("dnn", width=width)
    assert abs(dnn.count_params() - cnn) / cnn < 0.01
    assert not models.conv_layer_names(dnn)


def test_width_scales_channels_and_any_input_shape():
    m = models.build("vgg_selu", width=0.25, input_shape=(32, 40, 3), num_classes=4)
    assert m.get_layer("block1_conv1").filters == 16 and m.get_layer("fc1").units == 128
    out = m(np.zeros((2, 32, 40, 3), np.float32))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(out).sum(axis=1), 1, rtol=1e-5)
    assert models.conv_layer_names(m)[-1] == "block3_conv2"


@arithmetic
def test_registry_and_errors():
    assert models.names() == ["cnn3", "dnn", "vgg_selu"]
    with pytest.raises(ValueError, match="unknown model 'resnet'.*cnn3, dnn, vgg_selu"):
        models.build("resnet")
    with pytest.raises(ValueError, match="width must be > 0"):
        models.build("cnn3", width=0)
    assert isinstance(models.build("cnn3", width=0.125), keras.Model)


@arithmetic
def test_param_table_sets_widths_side_by_side_with_keras_counts():
    full, small = models.build("vgg_selu"), models.build("vgg_selu", width=0.25)
    t = models.param_table({"full": full, "small": small})
    assert t.loc["total"].tolist() == [6_400_199, small.count_params()]
    assert t.loc["trainable", "full"] == 6_396_231  # the count seed 003 reports
    assert t.loc["block1_conv1", "full"] == full.get_layer("block1_conv1").count_params() == 640
    assert t.drop(index=["total", "trainable"]).sum().tolist() == t.loc["total"].tolist()


# ---- with_preprocessing: Keras's public clone_model, layers shared ----------------------------
def _front():
    return [keras.layers.Rescaling(1 / 255.0), keras.layers.Normalization(mean=0.5,
                                                                          variance=0.04)]


def _by_hand(x):
    """The two front layers written out: x / 255, then (x - 0.5) / sqrt(0.04)."""
    return (x / 255.0 - 0.5) / np.sqrt(0.04)


def test_with_preprocessing_is_one_flat_model_on_the_same_layers():
    net = models.build("cnn3", width=0.1)
    net.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model = models.with_preprocessing(net, _front())
    assert model.name == net.name and model.input.name == "pixels"
    assert [type(lay).__name__ for lay in model.layers][:4] == [
        "InputLayer", "Rescaling", "Normalization", "Conv2D"]
    assert not any(isinstance(lay, keras.Model) for lay in model.layers)  # flat: fk.vis sees conv1
    assert model.get_layer("conv1") is net.get_layer("conv1")
    assert {id(v) for v in net.weights} <= {id(v) for v in model.weights}
    assert not model.compiled  # a fresh model, not clone_model's compiled copy
    x = np.random.default_rng(0).uniform(0, 255, (3, 48, 48, 1)).astype("float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), net.predict(_by_hand(x), verbose=0),
                               atol=1e-5)


def test_with_preprocessing_puts_the_front_in_once_where_two_layers_read_the_input():
    inp = keras.Input((4, 4, 1))
    out = keras.layers.Add()([keras.layers.Conv2D(2, 1, name="a")(inp),
                              keras.layers.Conv2D(2, 3, padding="same", name="b")(inp)])
    net = keras.Model(inp, keras.layers.Flatten()(out), name="two_readers")
    model = models.with_preprocessing(net, _front())
    assert sum(isinstance(lay, keras.layers.Rescaling) for lay in model.layers) == 1
    x = np.random.default_rng(1).uniform(0, 255, (2, 4, 4, 1)).astype("float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), net.predict(_by_hand(x), verbose=0),
                               atol=1e-5)


def test_with_preprocessing_wraps_a_sequential_model_as_one_layer():
    net = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(),
                            keras.layers.Dense(3)], name="seq")
    model = models.with_preprocessing(net, _front())
    assert model.layers[-1] is net
    x = np.random.default_rng(2).uniform(0, 255, (2, 4, 4, 1)).astype("float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), net.predict(_by_hand(x), verbose=0),
                               atol=1e-5)
