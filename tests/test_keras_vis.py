"""fer_kit.keras_vis as keras-vis 0.4.1 (the release students installed): its call forms with
only the import changed and its return values, (H, W, 3) uint8 jet images, checked against
keras-vis's algorithm written out (tests/keras_vis_reference.py: TensorFlow tapes, matplotlib's
jet, Pillow's bicubic filter written out). The master branch's conventions are checked in
test_keras_vis_master.py, real homework's uses of the results in test_keras_vis_homework.py."""
from __future__ import annotations

import keras
import numpy as np
import pytest
from PIL import Image

import keras_vis_reference as ref
from fer_kit import vis
from fer_kit.keras_vis import callbacks
from fer_kit.keras_vis.input_modifiers import Jitter
from fer_kit.keras_vis.utils import utils, vggnet
from fer_kit.keras_vis.visualization import (get_num_filters, overlay, visualize_activation,
                                             visualize_cam, visualize_cam_with_losses,
                                             visualize_saliency)
from fer_kit.keras_vis.visualization.saliency import resize_bicubic

# keras-vis's algorithm written out with TensorFlow tapes
pytestmark = pytest.mark.tf_reference


@pytest.fixture(scope="module", params=list(ref.MODELS))
def case(request):
    model = ref.MODELS[request.param]()
    x = np.random.default_rng(0).normal(size=(2, *model.input_shape[1:])).astype("float32")
    return model, x


# ---- visualize_saliency ---------------------------------------------------------------------
@pytest.mark.parametrize("grad_modifier,fn", [
    ("absolute", np.abs), (None, lambda g: g), ("negate", lambda g: -g),
    ("relu", lambda g: np.maximum(g, 0))])
def test_visualize_saliency_is_keras_vis_041s_jet_image(case, grad_modifier, fn):
    model, x = case
    idx = utils.find_layer_idx(model, "predictions")
    rgb = visualize_saliency(model, idx, filter_indices=3, seed_input=x[0],
                             grad_modifier=grad_modifier)
    ref.assert_jet_of(rgb, ref.minmax(fn(ref.keras_vis_grads(model, x[:1], 3)).max(-1))[0])


def test_visualize_saliency_seed_forms_and_filter_forms(case):
    model, x = case
    one = visualize_saliency(model, -1, 2, x[0])
    np.testing.assert_array_equal(visualize_saliency(model, -1, 2, x[:1]), one)  # (1, H, W, C)
    # a batch: keras-vis averaged the loss over it and scaled all maps together
    ref.assert_jet_of(visualize_saliency(model, -1, [1, 4], x),
                      ref.minmax(np.abs(ref.keras_vis_grads(model, x, [1, 4])).max(-1))[0])
    ref.assert_jet_of(visualize_saliency(model, -1, None, x[0]),
                      ref.minmax(np.abs(ref.keras_vis_grads(model, x[:1], None)).max(-1))[0])
    with pytest.raises(TypeError, match="keepdims"):  # master's argument, not 0.4.1's
        visualize_saliency(model, -1, 2, x[0], keepdims=True)


def test_visualize_saliency_backprop_modifiers_are_the_kits():
    model = ref.residual()
    x = np.random.default_rng(1).normal(size=(1, 24, 24, 3)).astype("float32")
    for keras_vis_name, kit_name in (("guided", "guided"), ("relu", "deconvnet"),
                                     ("rectified", "deconvnet"), (None, None)):
        rgb = visualize_saliency(model, -1, 1, x[0], backprop_modifier=keras_vis_name)
        ref.assert_jet_of(rgb, vis.saliency(model, x, 1, modifier=kit_name)[0])


def test_alpha_is_keras_vis_02s_overlay_on_the_image(case):
    """keras-vis 0.2 (what ML2017 code passed alpha= to): jet, zero below 0.2, blended."""
    model, x = case
    seed = (x[0] * 40 + 128).astype("float32")
    out = visualize_saliency(model, -1, [3], seed, alpha=0.6)
    g = np.abs(ref.keras_vis_grads(model, seed[None], 3)).max(-1)[0]
    g = g / g.max()
    heat = ref.JET[np.clip((g * 256).astype(int), 0, 255)]
    heat[g < 0.2] = 0
    expected = np.uint8(seed * 0.6 + heat * 0.4)
    edge = np.abs(g * 256 - np.round(g * 256)) < 256e-4
    assert out.shape == seed.shape[:2] + (3,) and out.dtype == np.uint8
    assert not np.any(np.any(out != expected, -1) & ~edge & (np.abs(g - 0.2) > 1e-4))
    np.testing.assert_array_equal(visualize_saliency(model, -1, [3], seed, 0.6), out)  # 0.2's
    with pytest.raises(ValueError, match="alpha"):
        visualize_saliency(model, -1, 3, seed, alpha=1.5)


# ---- visualize_cam ------------------------------------------------------------------------
def test_resize_is_pillows_bicubic_as_imresize_called_it():
    a = np.random.default_rng(2).random((5, 7)).astype("float32")
    out = resize_bicubic(a, (23, 31))
    assert out.shape == (23, 31)
    np.testing.assert_allclose(out, ref.imresize_bicubic(a, (23, 31)), atol=2e-6)


@pytest.mark.parametrize("grad_modifier,fn", [
    (None, lambda g: g), ("negate", lambda g: -g), ("relu", lambda g: np.maximum(g, 0)),
    ("absolute", np.abs)])
def test_visualize_cam_is_keras_vis_041s_including_grad_modifier(case, grad_modifier, fn):
    """The grad_modifier acts before the gradients are divided by their maximum and
    averaged (issue 22: only the shape was checked before)."""
    model, x = case
    pen = ref.PENULTIMATE[model.name]
    cam = visualize_cam(model, -1, 2, x[0], grad_modifier=grad_modifier)
    heat = ref.cam_by_hand(model, x[:1], 2, pen, fn)
    ref.assert_jet_of(cam, ref.minmax(ref.imresize_bicubic(heat, x.shape[1:3])))
    named = visualize_cam(model, -1, 2, x[0], grad_modifier=grad_modifier,
                          penultimate_layer_idx=utils.find_layer_idx(model, pen))
    np.testing.assert_array_equal(named, cam)


def test_visualize_cam_negate_differs_from_the_plain_map(case):
    model, x = case
    heat = ref.cam_by_hand(model, x[:1], 2, ref.PENULTIMATE[model.name])
    neg = ref.cam_by_hand(model, x[:1], 2, ref.PENULTIMATE[model.name], lambda g: -g)
    assert not np.allclose(ref.minmax(heat), ref.minmax(neg), atol=0.05)  # the test can fail


def test_visualize_cam_guided_and_errors():
    model = ref.residual()
    x = np.random.default_rng(2).normal(size=(24, 24, 3)).astype("float32")
    guided = visualize_cam(model, -1, 0, x, penultimate_layer_idx=utils.find_layer_idx(
        model, "add_relu"), backprop_modifier="guided")
    kit = vis.gradcam(model, x[None], 0, layer="add_relu", modifier="guided", expand=False,
                      scale=False)[0]
    # 24x24: the resize is the identity; kit / max as keras-vis scaled (its range is tiny)
    ref.assert_jet_of(guided, ref.minmax(kit / kit.max()))
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


def _first_step_by_hand(model, seed):
    """keras-vis 0.4.1's loss on ``seed`` and its gradient scaled to RMS 1."""
    import tensorflow as tf
    head = model.get_layer("predictions")
    feats = keras.Model(model.inputs, head.input)
    xt = tf.constant(seed[None])
    with tf.GradientTape() as tape:
        tape.watch(xt)
        logit = (tf.matmul(feats(xt), head.kernel) + head.bias)[:, 4]
        size = float(np.prod(seed.shape))
        lp = tf.reduce_sum(tf.abs(xt) ** 6) ** (1 / 6) / size
        a = tf.square(xt[:, 1:, :-1] - xt[:, :-1, :-1])
        b = tf.square(xt[:, :-1, 1:] - xt[:, :-1, :-1])
        loss = -tf.reduce_mean(logit) + 10 * lp + 10 * tf.reduce_sum(a + b) / size
    g = tape.gradient(loss, xt).numpy()
    return float(loss), g / np.sqrt(np.mean(g ** 2))


@pytest.mark.parametrize("with_batch_axis", [False, True])
def test_visualize_activation_first_step_equals_keras_vis_by_hand(case, with_batch_axis):
    """A seed with its batch axis (1, H, W, C) is the same seed (issue 22: never tried)."""
    model, x = case
    seed = (x[0] * 40 + 128).astype("float32")
    rec = _Record()
    img = visualize_activation(model, -1, 4, seed[None] if with_batch_axis else seed,
                               max_iter=3, callbacks=[rec])  # 0.4.1: the seed is 4th
    loss, g = _first_step_by_hand(model, seed)
    named, overall, grads, wrt = rec.steps[0]
    np.testing.assert_allclose(overall, loss, rtol=1e-4)
    np.testing.assert_allclose(grads, g, atol=1e-3)
    np.testing.assert_array_equal(wrt[0], seed)
    assert len(rec.steps) == 3 and rec.ended and len(named) == 3
    assert img.shape == seed.shape and img.dtype == np.uint8
    other = visualize_activation(model, -1, 4, seed if with_batch_axis else seed[None],
                                 max_iter=3)
    np.testing.assert_array_equal(img, other)


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
    n = get_num_filters(model.get_layer(conv))
    assert n == model.get_layer(conv).output.shape[-1] == utils.get_num_filters(
        model.get_layer(conv))
    imgs = [visualize_activation(model, conv, filter_indices=f, max_iter=3, seed_input=img)
            for f in range(min(n, 3))]
    stitched = utils.stitch_images(imgs, cols=2)
    h, w, c = img.shape
    assert stitched.shape == (2 * h + 5, 2 * w + 5, c)
    with pytest.raises(TypeError, match="master"):
        visualize_activation(model, idx, 1, wrt_tensor=model.get_layer(conv).output)


def test_the_default_seed_is_keras_vis_uniform_noise(case):
    model, _ = case
    rec = _Record()
    np.random.seed(7)
    visualize_activation(model, -1, 1, max_iter=1, callbacks=[rec])
    np.random.seed(7)
    u = np.random.random((1, *model.input_shape[1:]))
    u = (u - u.mean()) / (u.std() + 1e-7) * (0.05 * 255) + 127.5
    np.testing.assert_allclose(rec.steps[0][3], u, rtol=1e-6)


# ---- utils and modifiers ----------------------------------------------------------------
def test_apply_modifications_swaps_softmax_for_linear_and_shares_weights():
    model = ref.residual(seed=3)
    x = np.random.default_rng(3).normal(size=(2, 24, 24, 3)).astype("float32")
    idx = utils.find_layer_idx(model, "predictions")
    model.layers[idx].activation = keras.activations.linear
    new = utils.apply_modifications(model)
    head = model.get_layer("predictions")
    feats = keras.Model(model.inputs, head.input)
    np.testing.assert_allclose(new.predict(x, verbose=0),
                               feats(x).numpy() @ head.kernel.numpy() + head.bias.numpy(),
                               atol=1e-5)
    head.bias.assign(head.bias + 1.0)  # the same variables
    np.testing.assert_allclose(new(x).numpy(), feats(x).numpy() @ head.kernel.numpy()
                               + head.bias.numpy(), atol=1e-5)
    # keras-vis's recipe then changes nothing in the saliency: the map is of the logits anyway
    np.testing.assert_array_equal(visualize_saliency(new, idx, 1, x[0]),
                                  visualize_saliency(ref.residual(seed=3), idx, 1, x[0]))


def test_jitter_rolls_by_keras_vis_offsets():
    img = np.arange(48 * 48).reshape(1, 48, 48, 1).astype("float32")
    np.random.seed(5)
    offsets = [np.random.randint(-16, 17) for _ in range(2)]
    np.random.seed(5)
    np.testing.assert_array_equal(Jitter(16).pre(img), np.roll(img, offsets, (1, 2)))
    np.random.seed(6)
    offsets = [np.random.randint(-2, 3) for _ in range(2)]  # 5% of 48 -> 2 pixels
    np.random.seed(6)
    np.testing.assert_array_equal(Jitter(0.05).pre(img), np.roll(img, offsets, (1, 2)))
    assert Jitter().post(img) is img


def test_utils_041_helpers(monkeypatch, tmp_path):
    a = np.array([[2.0, 4.0], [6.0, 10.0]])
    np.testing.assert_allclose(utils.normalize(a), (a - 2) / 8, atol=1e-6)
    np.testing.assert_allclose(utils.normalize(a, -1, 1), (a - 2) / 4 - 1, atol=1e-6)
    d = utils.deprocess_input(np.random.default_rng(0).normal(5, 3, (8, 8, 1)))
    assert 0 <= d.min() and d.max() <= 255 and abs(d.mean() - 127.5) < 5
    np.testing.assert_array_equal(overlay(np.full((2, 2), 200, np.uint8),
                                          np.zeros((2, 2), np.uint8), 0.25),
                                  np.full((2, 2), 50, np.uint8))
    bgr = np.arange(12).reshape(2, 2, 3)
    np.testing.assert_array_equal(utils.bgr2rgb(bgr)[..., 0], bgr[..., 2])
    utils.set_random_seed(3)
    first = np.random.random(3)
    utils.set_random_seed(3)
    np.testing.assert_array_equal(np.random.random(3), first)
    monkeypatch.setattr(utils, "_CLASS_INDEX", {"3": ["n01", "tiger_shark"],
                                                "7": ["n02", "cock"]})
    assert utils.get_imagenet_label(3) == "tiger_shark"
    assert utils.get_imagenet_label([3, 7], join=" / ") == "tiger_shark / cock"
    assert utils.lookup_imagenet_labels(np.array([7, 3])) == ["cock", "tiger_shark"]
    path = tmp_path / "face.png"
    Image.fromarray(np.arange(48 * 48, dtype=np.uint8).reshape(48, 48)).save(path)
    assert utils.load_img(str(path), grayscale=True).shape == (48, 48, 1)


def test_vggnet_is_vgg16_with_a_linear_last_layer(monkeypatch):
    seen = {}
    monkeypatch.setattr(keras.applications, "VGG16", lambda **kw: seen.update(kw) or "vgg")
    assert vggnet.VGG16(weights=None, classes=7) == "vgg"
    assert seen["classifier_activation"] is None and seen["classes"] == 7
    monkeypatch.undo()
    small = vggnet.VGG16(include_top=False, weights=None, input_shape=(48, 48, 3))
    assert small.output_shape == (None, 1, 1, 512)


def test_errors_name_what_to_do():
    with pytest.raises(NotImplementedError, match="call visualize_cam"):
        visualize_cam_with_losses(None, [], None, None)
    with pytest.raises(NotImplementedError, match="imageio"):
        callbacks.GifGenerator("out.gif")
    with pytest.raises(ValueError, match="grad_modifier must be one of"):
        visualize_saliency(ref.residual(), -1, 0, np.zeros((24, 24, 3)), grad_modifier="square")
    with pytest.raises(ValueError, match="takes"):
        visualize_saliency(ref.residual(), -1, 0, np.zeros((24, 24)))


def test_an_explainer_in_place_of_the_model_builds_the_graph_once(case):
    model, x = case
    ex = vis.Explainer(model)
    first = visualize_saliency(ex, -1, 2, x[0], backprop_modifier="guided")
    built = len(ex._graphs)
    np.testing.assert_array_equal(
        visualize_saliency(ex, -1, 2, x[1], backprop_modifier="guided"),
        visualize_saliency(model, -1, 2, x[1], backprop_modifier="guided"))
    assert len(ex._graphs) == built
    np.testing.assert_array_equal(first, visualize_saliency(model, -1, 2, x[0],
                                                            backprop_modifier="guided"))
    np.testing.assert_array_equal(visualize_cam(ex, -1, 1, x[0]), visualize_cam(model, -1, 1,
                                                                                x[0]))
