"""fer_kit.keras_vis.master: keras-vis's master-branch conventions (float maps, wrt_tensor,
keepdims, L2-normalized ascent), checked against keras-vis's algorithm written out in
TensorFlow autodiff and against tf-keras-vis."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import zoom

import keras_vis_reference as ref
from fer_kit import vis
from fer_kit.keras_vis.master import visualization as master
from fer_kit.keras_vis.master.utils import utils as master_utils
from fer_kit.keras_vis.utils import utils

pytestmark = pytest.mark.tf_reference  # tapes and tf-keras-vis are the references


@pytest.fixture(scope="module", params=list(ref.MODELS))
def case(request):
    model = ref.MODELS[request.param]()
    x = np.random.default_rng(0).normal(size=(2, *model.input_shape[1:])).astype("float32")
    return model, x


def test_the_master_namespace_imports_as_keras_vis_master_did():
    import fer_kit
    assert fer_kit.keras_vis.master.visualization is master  # as an attribute too
    assert master_utils is utils  # the same module under both names
    from fer_kit.keras_vis.master.input_modifiers import Jitter
    from fer_kit.keras_vis.master.visualization import get_num_filters  # noqa: F401
    from fer_kit.keras_vis.input_modifiers import Jitter as Jitter041
    assert Jitter is Jitter041


@pytest.mark.parametrize("grad_modifier,fn", [
    ("absolute", np.abs), (None, lambda g: g), ("negate", lambda g: -g),
    ("relu", lambda g: np.maximum(g, 0)), ("invert", lambda g: 1 / (g + 1e-7)),
    ("small_values", lambda g: np.abs(1 / (g + 1e-7)))])
def test_visualize_saliency_grad_modifiers_equal_keras_vis_by_hand(case, grad_modifier, fn):
    model, x = case
    idx = utils.find_layer_idx(model, "predictions")
    m = master.visualize_saliency(model, idx, filter_indices=3, seed_input=x[0],
                                  grad_modifier=grad_modifier)
    expected = ref.minmax(fn(ref.keras_vis_grads(model, x[:1], 3)).max(-1))[0]
    assert m.shape == x.shape[1:3] and m.min() >= 0 and m.max() <= 1
    np.testing.assert_allclose(m, expected, atol=2e-3 if "val" in str(grad_modifier) or
                               grad_modifier == "invert" else 1e-4)


def test_visualize_saliency_seed_forms_filter_forms_keepdims_and_wrt_tensor(case):
    model, x = case
    one = master.visualize_saliency(model, -1, 2, x[0])
    np.testing.assert_allclose(master.visualize_saliency(model, -1, 2, x[:1]), one)
    np.testing.assert_allclose(one, vis.saliency(model, x[:1], 2)[0], atol=1e-5)
    both = master.visualize_saliency(model, -1, [1, 4], x, keepdims=True)
    assert both.shape == x.shape[1:]
    np.testing.assert_allclose(both, ref.minmax(np.abs(ref.keras_vis_grads(model, x, [1, 4])))[0],
                               atol=1e-4)
    np.testing.assert_allclose(master.visualize_saliency(model, -1, None, x[0]), ref.minmax(
        np.abs(ref.keras_vis_grads(model, x[:1], None)).max(-1))[0], atol=1e-4)
    name = "block3_conv2" if model.name == "vgg_selu" else "sep3"
    wrt = master.visualize_saliency(model, -1, 2, x[0], wrt_tensor=model.get_layer(name).output)
    grads, _ = ref.keras_vis_grads(model, x[:1], 2, name)
    np.testing.assert_allclose(wrt, ref.minmax(np.abs(grads).max(-1))[0], atol=1e-4)


def test_visualize_saliency_guided_equals_tf_keras_vis():
    model = ref.residual()
    x = np.random.default_rng(1).normal(size=(1, 24, 24, 3)).astype("float32")
    pytest.importorskip("tf_keras_vis")
    from tf_keras_vis.saliency import Saliency
    from tf_keras_vis.utils.model_modifiers import GuidedBackpropagation, ReplaceToLinear
    from tf_keras_vis.utils.scores import CategoricalScore
    theirs = Saliency(model, model_modifier=[ReplaceToLinear(), GuidedBackpropagation()],
                      clone=True)(CategoricalScore([1]), x)[0]
    np.testing.assert_allclose(master.visualize_saliency(model, -1, 1, x[0],
                                                         backprop_modifier="guided"),
                               theirs, atol=1e-4)


def test_visualize_cam_equals_tf_keras_vis_gradcam_zoomed_as_master_did(case):
    pytest.importorskip("tf_keras_vis")
    from tf_keras_vis.gradcam import Gradcam
    from tf_keras_vis.utils.model_modifiers import ReplaceToLinear
    from tf_keras_vis.utils.scores import CategoricalScore
    model, x = case
    pen = ref.PENULTIMATE[model.name]
    cam = master.visualize_cam(model, -1, 2, x[0])
    theirs = Gradcam(model, model_modifier=ReplaceToLinear(), clone=True)(
        CategoricalScore([2]), x[:1], penultimate_layer=pen, seek_penultimate_conv_layer=False,
        expand_cam=False, normalize_cam=False)[0]
    expected = ref.minmax(zoom(np.asarray(theirs), [a / b for a, b in zip(x.shape[1:3],
                                                                          theirs.shape)]))
    assert cam.shape == x.shape[1:3] and cam.min() >= 0 and cam.max() <= 1
    np.testing.assert_allclose(cam, expected, atol=1e-4)


@pytest.mark.parametrize("grad_modifier,fn", [("negate", lambda g: -g),
                                              ("relu", lambda g: np.maximum(g, 0))])
def test_visualize_cam_grad_modifier_values(case, grad_modifier, fn):
    model, x = case
    heat = ref.cam_by_hand(model, x[:1], 2, ref.PENULTIMATE[model.name], fn)
    expected = ref.minmax(zoom(heat, [a / b for a, b in zip(x.shape[1:3], heat.shape)]))
    np.testing.assert_allclose(master.visualize_cam(model, -1, 2, x[0],
                                                    grad_modifier=grad_modifier),
                               expected, atol=1e-4)


def test_visualize_activation_l2_step_and_wrt_tensor(case):
    model, x = case
    seed = (x[0] * 40 + 128).astype("float32")
    grads = []

    class Grab:
        def callback(self, i, named_losses, overall_loss, g, wrt_value):
            grads.append(g)

        def on_end(self):
            pass
    master.visualize_activation(model, -1, 4, None, seed, max_iter=1, callbacks=[Grab()])
    rms = []

    class GrabRms(Grab):
        def callback(self, i, named_losses, overall_loss, g, wrt_value):
            rms.append(g)
    from fer_kit.keras_vis.visualization import visualize_activation
    visualize_activation(model, -1, 4, seed, max_iter=1, callbacks=[GrabRms()])
    np.testing.assert_allclose(np.sqrt(np.sum(grads[0] ** 2)), 1.0, rtol=1e-5)  # K.l2_normalize
    np.testing.assert_allclose(grads[0] * np.sqrt(grads[0].size), rms[0], rtol=1e-3, atol=1e-5)
    conv = "block1_conv2" if model.name == "vgg_selu" else "sep1"
    with pytest.raises(NotImplementedError, match="visualize_saliency"):
        master.visualize_activation(model, -1, 1, wrt_tensor=model.get_layer(conv).output)
