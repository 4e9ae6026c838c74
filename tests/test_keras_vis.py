"""fer_kit.keras_vis: keras-vis 0.4's documented call forms with only the import changed,
checked against keras-vis's algorithm written out in TensorFlow autodiff, tf-keras-vis,
and fer_kit's batched functions, on vgg_selu and a residual/separable model."""
from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy.ndimage import zoom

# keras-vis's documented calls checked against TensorFlow (tapes, tf-keras-vis)
pytestmark = pytest.mark.tf_reference

from fer_kit import models, vis
from fer_kit.keras_vis import callbacks
from fer_kit.keras_vis.input_modifiers import Jitter
from fer_kit.keras_vis.utils import utils
from fer_kit.keras_vis.visualization import (overlay, visualize_activation, visualize_cam,
                                             visualize_cam_with_losses, visualize_saliency)


def _residual(seed=0):
    """Residual adds, separable convolutions, ReLU inside layers and as a layer."""
    keras.utils.set_random_seed(seed)
    inp = keras.Input((24, 24, 3))
    h = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="stem")(inp)
    r = keras.layers.SeparableConv2D(8, 3, padding="same", activation="relu", name="sep1")(h)
    r = keras.layers.SeparableConv2D(8, 3, padding="same", name="sep2")(r)
    h = keras.layers.Activation("relu", name="add_relu")(keras.layers.Add(name="add")([h, r]))
    h = keras.layers.MaxPooling2D(2, name="pool")(h)
    h = keras.layers.SeparableConv2D(16, 3, padding="same", activation="relu", name="sep3")(h)
    h = keras.layers.GlobalAveragePooling2D(name="gap")(h)
    out = keras.layers.Dense(5, activation="softmax", name="predictions")(h)
    return keras.Model(inp, out, name="residual")


def _vgg():
    keras.utils.set_random_seed(1)
    return models.build("vgg_selu", width=0.125)


MODELS = {"vgg_selu": _vgg, "residual": _residual}


@pytest.fixture(scope="module", params=list(MODELS))
def case(request):
    model = MODELS[request.param]()
    shape = model.input_shape[1:]
    x = np.random.default_rng(0).normal(size=(2, *shape)).astype("float32")
    return model, x


def _logits_and(model, x, wrt_layer=None):
    """Reference: the logits by hand (pre-softmax through the head's kernel), and
    (optionally) the output of ``wrt_layer``, inside one tape."""
    head = model.get_layer("predictions")
    outs = [head.input] + ([] if wrt_layer is None else [model.get_layer(wrt_layer).output])
    return keras.Model(model.inputs, outs), head


def _keras_vis_grads(model, x, filter_indices, wrt_layer=None):
    """keras-vis's gradient, by hand: d(sum_idx mean_batch logit[idx]) / d(input or wrt)."""
    feats, head = _logits_and(model, x, wrt_layer)
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        res = feats(xt)
        f, mid = (res, None) if wrt_layer is None else res
        logits = tf.matmul(f, head.kernel) + head.bias
        idx = range(logits.shape[-1]) if filter_indices is None else np.atleast_1d(
            filter_indices)
        loss = tf.add_n([tf.reduce_mean(logits[:, int(i)]) for i in idx])
        if filter_indices is None:
            loss = loss / logits.shape[-1]
    return tape.gradient(loss, xt if wrt_layer is None else mid).numpy()


def _minmax(a):
    return (a - a.min()) / (a.max() - a.min() + 1e-7)


# ---- visualize_saliency ---------------------------------------------------------------------
@pytest.mark.parametrize("grad_modifier,fn", [
    ("absolute", np.abs), (None, lambda g: g), ("negate", lambda g: -g),
    ("relu", lambda g: np.maximum(g, 0)), ("invert", lambda g: 1 / (g + 1e-7)),
    ("small_values", lambda g: np.abs(1 / (g + 1e-7)))])
def test_visualize_saliency_grad_modifiers_equal_keras_vis_by_hand(case, grad_modifier, fn):
    model, x = case
    idx = utils.find_layer_idx(model, "predictions")
    m = visualize_saliency(model, idx, filter_indices=3, seed_input=x[0],
                           grad_modifier=grad_modifier)
    ref = _minmax(fn(_keras_vis_grads(model, x[:1], 3)).max(-1))[0]
    assert m.shape == x.shape[1:3] and m.min() >= 0 and m.max() <= 1
    np.testing.assert_allclose(m, ref, atol=2e-3 if "val" in str(grad_modifier) or
                               grad_modifier == "invert" else 1e-4)


def test_visualize_saliency_seed_forms_filter_forms_keepdims_and_wrt_tensor(case):
    model, x = case
    one = visualize_saliency(model, -1, 2, x[0])
    np.testing.assert_allclose(visualize_saliency(model, -1, 2, x[:1]), one)  # (1, H, W, C)
    np.testing.assert_allclose(one, vis.saliency(model, x[:1], 2)[0], atol=1e-5)
    # a batch: keras-vis averaged the loss over it and scaled all maps together
    both = visualize_saliency(model, -1, [1, 4], x, keepdims=True)
    ref = _minmax(np.abs(_keras_vis_grads(model, x, [1, 4])))[0]
    assert both.shape == x.shape[1:]
    np.testing.assert_allclose(both, ref, atol=1e-4)
    np.testing.assert_allclose(visualize_saliency(model, -1, None, x[0]), _minmax(
        np.abs(_keras_vis_grads(model, x[:1], None)).max(-1))[0], atol=1e-4)
    name = "block3_conv2" if model.name == "vgg_selu" else "sep3"
    wrt = visualize_saliency(model, -1, 2, x[0], wrt_tensor=model.get_layer(name).output)
    np.testing.assert_allclose(wrt, _minmax(np.abs(_keras_vis_grads(model, x[:1], 2, name))
                                            .max(-1))[0], atol=1e-4)


def test_visualize_saliency_backprop_modifiers_equal_the_kit_and_tf_keras_vis():
    model = _residual()
    x = np.random.default_rng(1).normal(size=(1, 24, 24, 3)).astype("float32")
    for keras_vis_name, kit_name in (("guided", "guided"), ("relu", "deconvnet"),
                                     ("rectified", "deconvnet"), (None, None)):
        m = visualize_saliency(model, -1, 1, x[0], backprop_modifier=keras_vis_name)
        np.testing.assert_allclose(m, vis.saliency(model, x, 1, modifier=kit_name)[0],
                                   atol=1e-5)
    pytest.importorskip("tf_keras_vis")
    from tf_keras_vis.saliency import Saliency
    from tf_keras_vis.utils.model_modifiers import GuidedBackpropagation, ReplaceToLinear
    from tf_keras_vis.utils.scores import CategoricalScore
    theirs = Saliency(model, model_modifier=[ReplaceToLinear(), GuidedBackpropagation()],
                      clone=True)(CategoricalScore([1]), x)[0]
    np.testing.assert_allclose(visualize_saliency(model, -1, 1, x[0], backprop_modifier="guided"),
                               theirs, atol=1e-4)


# ---- visualize_cam ------------------------------------------------------------------------
def test_visualize_cam_equals_tf_keras_vis_gradcam_resized_as_keras_vis_did(case):
    pytest.importorskip("tf_keras_vis")
    from tf_keras_vis.gradcam import Gradcam
    from tf_keras_vis.utils.model_modifiers import ReplaceToLinear
    from tf_keras_vis.utils.scores import CategoricalScore
    model, x = case
    pen = "block3_pool" if model.name == "vgg_selu" else "sep3"  # keras-vis's default choice
    cam = visualize_cam(model, -1, 2, x[0])
    theirs = Gradcam(model, model_modifier=ReplaceToLinear(), clone=True)(
        CategoricalScore([2]), x[:1], penultimate_layer=pen, seek_penultimate_conv_layer=False,
        expand_cam=False,
        normalize_cam=False)[0]
    ref = _minmax(zoom(np.asarray(theirs), [a / b for a, b in zip(x.shape[1:3],
                                                                   theirs.shape)]))
    assert cam.shape == x.shape[1:3] and cam.min() >= 0 and cam.max() <= 1
    np.testing.assert_allclose(cam, ref, atol=1e-4)
    named = visualize_cam(model, -1, 2, x[0],
                          penultimate_layer_idx=utils.find_layer_idx(model, pen))
    np.testing.assert_allclose(named, cam, atol=1e-6)


def test_visualize_cam_guided_and_grad_modifier():
    model = _residual()
    x = np.random.default_rng(2).normal(size=(24, 24, 3)).astype("float32")
    guided = visualize_cam(model, -1, 0, x, penultimate_layer_idx=utils.find_layer_idx(
        model, "add_relu"), backprop_modifier="guided")
    kit = vis.gradcam(model, x[None], 0, layer="add_relu", modifier="guided", expand=False,
                      scale=False)[0]
    np.testing.assert_allclose(guided, _minmax(kit / kit.max()), atol=1e-4)  # 24x24: no zoom
    assert visualize_cam(model, -1, 0, x, grad_modifier="negate").shape == (24, 24)
    with pytest.raises(ValueError, match="before layer_idx"):
        visualize_cam(model, 3, 0, x, penultimate_layer_idx=7)


# ---- visualize_activation -------------------------------------------------------------------
class _Record(callbacks.OptimizerCallback):
    def __init__(self):
        self.steps, self.ended = [], False

    def callback(self, i, named_losses, overall_loss, grads, wrt_value):
        self.steps.append((dict(named_losses), overall_loss, grads.copy(), wrt_value.copy()))

    def on_end(self):
        self.ended = True


def test_visualize_activation_first_step_equals_keras_vis_loss_by_hand(case):
    model, x = case
    seed = (x[0] * 40 + 128).astype("float32")
    rec = _Record()
    visualize_activation(model, -1, filter_indices=4, seed_input=seed, max_iter=3,
                         callbacks=[rec])
    xt = tf.constant(seed[None])
    feats, head = _logits_and(model, seed[None])
    with tf.GradientTape() as tape:
        tape.watch(xt)
        logit = (tf.matmul(feats(xt), head.kernel) + head.bias)[:, 4]
        size = float(np.prod(seed.shape))
        lp = tf.reduce_sum(tf.abs(xt) ** 6) ** (1 / 6) / size
        a = tf.square(xt[:, 1:, :-1] - xt[:, :-1, :-1])
        b = tf.square(xt[:, :-1, 1:] - xt[:, :-1, :-1])
        loss = -tf.reduce_mean(logit) + 10 * lp + 10 * tf.reduce_sum(a + b) / size
    g = tape.gradient(loss, xt).numpy()
    named, overall, grads, _ = rec.steps[0]
    np.testing.assert_allclose(overall, float(loss), rtol=1e-4)
    np.testing.assert_allclose(grads, g / np.sqrt(np.mean(g ** 2)), atol=1e-3)
    assert len(rec.steps) == 3 and rec.ended and len(named) == 3


def test_visualize_activation_documented_forms(case, capsys):
    model, x = case
    idx = utils.find_layer_idx(model, "predictions")
    img = visualize_activation(model, idx, filter_indices=1, max_iter=5)
    assert img.shape == x.shape[1:] and img.dtype == np.uint8
    unit = visualize_activation(model, idx, filter_indices=1, input_range=(0., 1.), max_iter=5)
    assert unit.dtype == np.float32 and 0 <= unit.min() and unit.max() <= 1
    rec = _Record()
    visualize_activation(model, idx, filter_indices=[1, 2], tv_weight=0., lp_norm_weight=0.,
                         max_iter=20, callbacks=[rec], verbose=True)
    assert set(rec.steps[0][0]) == {"ActivationMax Loss"}  # zero weights are left out
    losses = [s[1] for s in rec.steps]
    assert losses[-1] < losses[0]  # it climbs: the loss is -activation
    assert "Iteration: 20" in capsys.readouterr().out
    jittered = visualize_activation(model, idx, filter_indices=1, max_iter=5,
                                    input_modifiers=[Jitter(16)])
    assert jittered.shape == x.shape[1:] and jittered.dtype == np.uint8
    conv = "block1_conv2" if model.name == "vgg_selu" else "sep1"
    n = utils.get_num_filters(model.get_layer(conv))
    imgs = [visualize_activation(model, conv, filter_indices=f, max_iter=3, seed_input=img)
            for f in range(min(n, 3))]
    stitched = utils.stitch_images(imgs, cols=2)
    h, w, c = img.shape
    assert stitched.shape == (2 * h + 5, 2 * w + 5, c)
    with pytest.raises(NotImplementedError, match="visualize_saliency"):
        visualize_activation(model, idx, 1, wrt_tensor=model.get_layer(conv).output)


# ---- utils and modifiers ----------------------------------------------------------------
def test_apply_modifications_swaps_softmax_for_linear_and_shares_weights():
    model = _residual(seed=3)
    x = np.random.default_rng(3).normal(size=(2, 24, 24, 3)).astype("float32")
    idx = utils.find_layer_idx(model, "predictions")
    model.layers[idx].activation = keras.activations.linear
    new = utils.apply_modifications(model)
    feats, head = _logits_and(model, x)
    np.testing.assert_allclose(new.predict(x, verbose=0),
                               feats(x).numpy() @ head.kernel.numpy() + head.bias.numpy(),
                               atol=1e-5)
    head.bias.assign(head.bias + 1.0)  # the same variables
    np.testing.assert_allclose(new(x).numpy(), feats(x).numpy() @ head.kernel.numpy()
                               + head.bias.numpy(), atol=1e-5)
    # keras-vis's recipe then changes nothing in the saliency: the map is of the logits anyway
    np.testing.assert_allclose(visualize_saliency(new, idx, 1, x[0]),
                               visualize_saliency(_residual(seed=3), idx, 1, x[0]), atol=1e-5)


def test_jitter_rolls_by_keras_vis_offsets():
    img = np.arange(48 * 48).reshape(1, 48, 48, 1).astype("float32")
    np.random.seed(5)
    offsets = [np.random.randint(-16, 17) for _ in range(2)]
    np.random.seed(5)
    np.testing.assert_array_equal(Jitter(16).pre(img[:, :, :, :]), np.roll(img, offsets, (1, 2)))
    np.random.seed(6)
    offsets = [np.random.randint(-2, 3) for _ in range(2)]  # 5% of 48 -> 2 pixels
    np.random.seed(6)
    np.testing.assert_array_equal(Jitter(0.05).pre(img), np.roll(img, offsets, (1, 2)))
    assert Jitter().post(img) is img


def test_utils_normalize_deprocess_overlay_and_errors():
    a = np.array([[2.0, 4.0], [6.0, 10.0]])
    np.testing.assert_allclose(utils.normalize(a), (a - 2) / 8, atol=1e-6)
    np.testing.assert_allclose(utils.normalize(a, -1, 1), (a - 2) / 4 - 1, atol=1e-6)
    d = utils.deprocess_input(np.random.default_rng(0).normal(5, 3, (8, 8, 1)))
    assert 0 <= d.min() and d.max() <= 255 and abs(d.mean() - 127.5) < 5
    np.testing.assert_array_equal(overlay(np.full((2, 2), 200, np.uint8),
                                          np.zeros((2, 2), np.uint8), 0.25),
                                  np.full((2, 2), 50, np.uint8))
    with pytest.raises(NotImplementedError, match="call visualize_cam"):
        visualize_cam_with_losses(None, [], None, None)
    with pytest.raises(NotImplementedError, match="imageio"):
        callbacks.GifGenerator("out.gif")
    with pytest.raises(ValueError, match="grad_modifier must be one of"):
        visualize_saliency(_residual(), -1, 0, np.zeros((24, 24, 3)), grad_modifier="square")
    with pytest.raises(ValueError, match="takes"):
        visualize_saliency(_residual(), -1, 0, np.zeros((24, 24)))


def test_an_explainer_in_place_of_the_model_builds_the_graph_once(case):
    model, x = case
    ex = vis.Explainer(model)
    first = visualize_saliency(ex, -1, 2, x[0], backprop_modifier="guided")
    built = len(ex._graphs)
    np.testing.assert_allclose(visualize_saliency(ex, -1, 2, x[1], backprop_modifier="guided"),
                               visualize_saliency(model, -1, 2, x[1], backprop_modifier="guided"))
    assert len(ex._graphs) == built
    np.testing.assert_allclose(first, visualize_saliency(model, -1, 2, x[0],
                                                         backprop_modifier="guided"))
    np.testing.assert_allclose(visualize_cam(ex, -1, 1, x[0]), visualize_cam(model, -1, 1, x[0]))
