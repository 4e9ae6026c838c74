"""Model builders: the seeds' exact parameter counts, shapes, names, the size-matched DNN."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from fer_kit import models


def _trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def test_vgg_selu_matches_seed_003_counts():
    m = models.build("vgg_selu")
    assert m.count_params() == 6_400_199
    assert _trainable(m) == 6_396_231
    assert m.output_shape == (None, 7)
    assert [m.get_layer(f"block{b}_pool").output.shape[1] for b in (1, 2, 3)] == [24, 12, 6]


def test_cnn3_matches_seed_000_shapes_and_counts():
    m = models.build("cnn3")
    assert [tuple(m.get_layer(f"conv{b}_pool").output.shape[1:]) for b in (1, 2, 3)] == [
        (23, 23, 64), (9, 9, 128), (3, 3, 256)]
    assert m.get_layer("flatten").output.shape[1] == 2304
    assert m.count_params() == 3_314_439
    assert _trainable(m) == 3_313_543  # PyTorch's parameter count for the seed's model


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


def test_registry_and_errors():
    assert models.names() == ["cnn3", "dnn", "vgg_selu"]
    with pytest.raises(ValueError, match="unknown model 'resnet'.*cnn3, dnn, vgg_selu"):
        models.build("resnet")
    with pytest.raises(ValueError, match="width must be > 0"):
        models.build("cnn3", width=0)
    assert isinstance(models.build("cnn3", width=0.125), keras.Model)


def test_param_table_sets_widths_side_by_side_with_keras_counts():
    full, small = models.build("vgg_selu"), models.build("vgg_selu", width=0.25)
    t = models.param_table({"full": full, "small": small})
    assert t.loc["total"].tolist() == [6_400_199, small.count_params()]
    assert t.loc["trainable", "full"] == 6_396_231  # the count seed 003 reports
    assert t.loc["block1_conv1", "full"] == full.get_layer("block1_conv1").count_params() == 640
    assert t.drop(index=["total", "trainable"]).sum().tolist() == t.loc["total"].tolist()
