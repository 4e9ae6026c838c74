"""What real HW3 scripts (NTU ML2017/ML2018, FER2013) did with keras-vis's results, as call
forms and uses of the returned arrays; our tests of those forms (no student code here).

Each use is checked against the same use on the reference image: matplotlib's jet of the
map computed by the master-branch convention (the same gradients, a float map), as keras-vis
0.4.1 coloured it. Backend-independent: runs under TensorFlow and JAX.
"""
from __future__ import annotations

import keras
import numpy as np
import pytest

from fer_kit.keras_vis.master.visualization import visualize_saliency as float_saliency
from fer_kit.keras_vis.utils import utils
from fer_kit.keras_vis.visualization import (get_num_filters, visualize_activation,
                                             visualize_saliency)
from fer_kit.legacy import predict_classes

def _jet(values):
    from matplotlib import colormaps
    return np.uint8(colormaps["jet"](values)[..., :3] * 255)


def _sequential():
    """A 2017-style Sequential CNN (LeakyReLU layers, a softmax Dense head)."""
    keras.utils.set_random_seed(0)
    L = keras.layers
    return keras.Sequential([
        keras.Input((48, 48, 1)),
        L.Conv2D(8, 3, padding="same", name="conv2d_1"), L.LeakyReLU(name="leaky_re_lu_1"),
        L.MaxPooling2D(2), L.Conv2D(8, 3, padding="same", name="conv2d_2"),
        L.LeakyReLU(name="leaky_re_lu_2"), L.MaxPooling2D(2), L.Flatten(),
        L.Dense(16, name="dense_1"), L.Activation("relu", name="activation_1"),
        L.Dense(7, activation="softmax", name="dense_2")])


@pytest.fixture(scope="module")
def hw():
    from fer_kit.data import synth
    faces = synth.generate(8, seed=1).x.astype("float32")  # raw 0-255 pixels, as test.csv
    return _sequential(), faces


def test_channel_sum_threshold_on_the_uint8_map(hw):
    """``sum(heatmap[i][j]) <= 420`` over the RGB pixel (551100kk/ML2017 hw3/saliency.py)."""
    model, faces = hw
    pred = np.argmax(model.predict(faces, verbose=0), axis=1)
    heatmap = visualize_saliency(model, 0, [pred[1]], faces[1])  # layer 0: the first conv
    expected = _jet(float_saliency(model, 0, [pred[1]], faces[1]))
    assert heatmap.dtype == np.uint8 and heatmap.shape == (48, 48, 3)
    see = faces[1].reshape(48, 48).copy()
    # sum() of three uint8 values wraps at 256 as it did in 2017: the same sum here
    mask = np.array([[int(np.sum(heatmap[i][j], dtype=np.uint8)) <= 420 for j in range(48)]
                     for i in range(48)])
    ref = np.array([[int(np.sum(expected[i][j], dtype=np.uint8)) <= 420 for j in range(48)]
                    for i in range(48)])
    see[mask] = 0
    assert (mask == ref).mean() > 0.99


def test_mean_over_channels_and_a_threshold_on_levels(hw):
    """``grads.mean(axis=2)``; ``x[np.where(grads <= 70)] = np.mean(x)`` after swapping the
    softmax for linear (hungchingliu/ML2018SPRING hw3/saliency.py)."""
    _, faces = hw
    model = _sequential()
    model.layers[-1].activation = keras.activations.linear
    model = utils.apply_modifications(model)
    grads = visualize_saliency(model, -1, filter_indices=3, seed_input=faces[2])
    levels = grads.mean(axis=2)
    assert levels.shape == (48, 48) and 0 <= levels.min() and levels.max() <= 255
    x = faces[2].reshape(48, 48).copy()
    x[np.where(levels <= 70)] = np.mean(x)
    ref = _jet(float_saliency(model, -1, 3, faces[2])).mean(axis=2)
    assert np.mean((levels <= 70) == (ref <= 70)) > 0.99
    assert 0 < (levels <= 70).mean() < 1  # the threshold splits the face: it can fail


def test_red_channel_zero_and_channel_comparisons(hw):
    """``heatmap[i, j, 0] == 0 and heatmap[i, j, 2] <= heatmap[i, j, 1] ...`` on a seed with
    its batch axis, filter_indices a list (yuchintu/ML2017FALL hw3/programfile/saliency.py)."""
    model, faces = hw
    img = (faces[3] / 255.0).reshape(1, 48, 48, 1)
    heatmap = visualize_saliency(model, layer_idx=model.layers.index(
        model.get_layer("dense_1")), seed_input=img, filter_indices=[1])
    assert heatmap.shape == (48, 48, 3)
    blue = (heatmap[:, :, 0] == 0) & (heatmap[:, :, 2] <= heatmap[:, :, 1])
    ref = _jet(float_saliency(model, model.layers.index(model.get_layer("dense_1")), [1], img))
    assert np.mean(blue == ((ref[:, :, 0] == 0) & (ref[:, :, 2] <= ref[:, :, 1]))) > 0.99


def test_prediction_arrays_as_filter_indices_and_mean_of_a_pixel(hw):
    """``pred = val_proba.argmax(axis=-1)`` (an array) as filter_indices, then
    ``np.mean(heatmap[i][j]) < thres`` (alvinbhou/ML2017 hw3/saliency_map.py)."""
    model, faces = hw
    pred = model.predict(faces[4:5] / 255.0, verbose=0).argmax(axis=-1)
    heatmap = visualize_saliency(model, len(model.layers) - 1, pred, faces[4] / 255.0)
    np.testing.assert_array_equal(heatmap, visualize_saliency(model, -1, int(pred[0]),
                                                              faces[4] / 255.0))
    assert np.mean(heatmap[10][10]) >= 0  # a pixel's mean is over its three colours
    assert np.mean(heatmap, axis=-1).shape == (48, 48)


def test_stitched_rgb_maps_for_cv2_imwrite(hw):
    """``utils.stitch_images(heatmaps, cols=7)`` of the maps for ``cv2.imwrite``, classes
    from ``model.predict_classes`` (davidchen0310/ML2017 hw3/plot_saliency_map.py)."""
    model, faces = hw
    pred_class = predict_classes(model, faces[:7])
    heatmaps = [visualize_saliency(model, len(model.layers) - 1, [pc], img)
                for img, pc in zip(faces[:7], pred_class)]
    stitched = utils.stitch_images(heatmaps, cols=7)
    assert stitched.shape == (48, 7 * 48 + 6 * 5, 3) and stitched.dtype == np.uint8
    np.testing.assert_array_equal(stitched[:, 53:101], heatmaps[1])


def test_keras_vis_02_alpha_forms(hw):
    """``visualize_saliency(model, i, [c], seed, alpha=0.5)`` (daniel08311/ML2017) and alpha
    fifth (hortune/ML2017 hw3/report_work/problem4/saliency_maps.py): 0.2's blend."""
    model, faces = hw
    blend = visualize_saliency(model, len(model.layers) - 1, [2], faces[0], alpha=0.5)
    assert blend.dtype == np.uint8 and blend.shape == (48, 48, 3)
    np.testing.assert_array_equal(visualize_saliency(model, 9, [2], faces[0], 0.5), blend)
    image_only = visualize_saliency(model, 9, [2], faces[0], 1)
    np.testing.assert_array_equal(image_only, np.repeat(np.uint8(faces[0]), 3, axis=-1))


def test_filter_images_stitched_and_reshaped(hw):
    """``get_num_filters(model.layers[i])``, ``visualize_activation(..., tv_weight=0.,
    input_modifiers=[Jitter(0.5)])``, ``stitch_images(imgs, cols=8)`` reshaped to 2-D
    (hungchingliu/ML2018SPRING hw3/gdAsc.py); the seed fourth (0.4.1's order)."""
    from fer_kit.keras_vis.input_modifiers import Jitter
    model, faces = hw
    idx = utils.find_layer_idx(model, "leaky_re_lu_2")
    filters = np.arange(get_num_filters(model.layers[idx]))
    assert len(filters) == 8
    imgs = [visualize_activation(model, idx, filter_indices=f, tv_weight=0., max_iter=2,
                                 input_modifiers=[Jitter(0.5)]) for f in filters[:3]]
    stitched = utils.stitch_images(imgs, cols=8)
    shape = stitched.shape
    assert stitched.reshape((shape[0], shape[1])).shape == (48, 3 * 48 + 10)
    np.random.seed(0)
    a = visualize_activation(model, idx, None, faces[0], max_iter=2)
    np.random.seed(0)
    np.testing.assert_array_equal(a, visualize_activation(model, idx, seed_input=faces[0],
                                                          max_iter=2))


def test_the_master_branch_float_map_reshapes_to_48_by_48(hw):
    """``visualize_saliency(...).reshape(48, 48)`` and ``see[np.where(heatmap <= 0.5)]``
    need master's float map: one import line changes to ``fer_kit.keras_vis.master``."""
    model, faces = hw
    heatmap = float_saliency(model, -1, [3], faces[5]).reshape(48, 48)
    assert heatmap.dtype == np.float32 and 0 <= heatmap.min() and heatmap.max() <= 1
    with pytest.raises(ValueError):
        visualize_saliency(model, -1, [3], faces[5]).reshape(48, 48)  # 0.4.1's RGB image
