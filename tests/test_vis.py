"""fer_kit.vis against independent references: autodiff, tf-keras-vis, hand-built graphs."""
from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from fer_kit import models, vis


def _small(activation="relu", act_layer=False, input_shape=(20, 16, 3), seed=0, raw=False):
    """A small functional CNN with a softmax head; activations inside layers or as layers.
    ``raw``: it takes 0-255 pixels (a Rescaling layer to [-1, 1] first)."""
    keras.utils.set_random_seed(seed)
    inp = keras.Input(input_shape)
    h = keras.layers.Rescaling(1 / 127.5, offset=-1.0)(inp) if raw else inp
    for i, f in enumerate((6, 8)):
        if act_layer:
            h = keras.layers.Conv2D(f, 3, padding="same", name=f"conv{i}")(h)
            h = (keras.layers.LeakyReLU(0.1, name=f"act{i}") if activation == "leaky_relu"
                 else keras.layers.Activation(activation, name=f"act{i}"))(h)
        else:
            h = keras.layers.Conv2D(f, 3, padding="same", activation=activation,
                                    name=f"conv{i}")(h)
        h = keras.layers.MaxPooling2D(2, name=f"pool{i}")(h)
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dense(12, activation=activation if not act_layer else None, name="fc")(h)
    out = keras.layers.Dense(5, activation="softmax", name="predictions")(h)
    return keras.Model(inp, out)


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(0).normal(size=(6, 20, 16, 3)).astype("float32")


def _logit_grad(model, x, targets):
    """Reference: the logit's gradient, by hand (pre-softmax through the Dense kernel)."""
    head = model.get_layer("predictions")
    feats = keras.Model(model.inputs, head.input)
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        logits = tf.matmul(feats(xt), head.kernel) + head.bias
        s = tf.reduce_sum(tf.gather(logits, targets, axis=1, batch_dims=1))
    return tape.gradient(s, xt).numpy(), logits.numpy()


@pytest.mark.tf_reference  # its reference is tf.GradientTape on the Keras model
def test_vanilla_gradient_equals_autodiff_of_the_logit(x):
    model = _small()
    t = np.array([0, 1, 2, 3, 4, 0])
    g, scores = vis.gradients(model, x, t)
    ref, logits = _logit_grad(model, x, t)
    np.testing.assert_allclose(g, ref, atol=1e-5)
    np.testing.assert_allclose(scores, logits[np.arange(6), t], atol=1e-5)
    assert model.layers[-1].activation is keras.activations.softmax  # user's model untouched


@pytest.mark.tf_reference  # its reference is tf.GradientTape on the Keras model
def test_saliency_maps_shape_range_and_grad_modifiers(x):
    model = _small()
    m = vis.saliency(model, x, 1)
    assert m.shape == (6, 20, 16) and m.min() >= 0 and m.max() <= 1 + 1e-6
    raw = vis.saliency(model, x, 1, absolute=False, keepdims=True, scale=False)
    ref, _ = _logit_grad(model, x, np.ones(6, int))
    np.testing.assert_allclose(raw, ref, atol=1e-5)
    np.testing.assert_allclose(vis.saliency(model, x, 1, scale=False),
                               np.abs(ref).max(-1), atol=1e-5)
    with pytest.raises(ValueError, match="keras-vis's name for 'deconvnet'"):
        vis.saliency(model, x, 1, modifier="relu")
    with pytest.raises(ValueError, match="out of range"):
        vis.saliency(model, x, 9)


def _manual_modified_grad(model, x, t, mode):
    """Reference: the same network run by hand, with the modified backward rule written
    out per activation (not through fer_kit's graph copy)."""
    xt = tf.constant(x)

    def act(fn, z):
        @tf.custom_gradient
        def f(z):
            y = fn(z)

            def grad(g):
                with tf.GradientTape() as t2:
                    t2.watch(z)
                    yy = fn(z)
                d = t2.gradient(yy, z)
                return tf.maximum(g, 0.0) if mode == "deconvnet" else tf.maximum(g, 0.0) * d
            return y, grad
        return f(z)

    with tf.GradientTape() as tape:
        tape.watch(xt)
        h = xt
        for lay in model.layers[1:]:
            a = getattr(lay, "activation", None)
            if isinstance(lay, (keras.layers.Activation, keras.layers.LeakyReLU)):
                h = act(lay, h)
            elif a is not None and a is not keras.activations.linear and lay.name != "predictions":
                pre = lay.__class__.from_config({**lay.get_config(), "activation": "linear"})
                pre.build(h.shape)
                pre.set_weights(lay.get_weights())
                h = act(a, pre(h))
            elif lay.name == "predictions":
                h = tf.matmul(h, lay.kernel) + lay.bias
            else:
                h = lay(h)
        s = tf.reduce_sum(tf.gather(h, t, axis=1, batch_dims=1))
    return tape.gradient(s, xt).numpy()


@pytest.mark.tf_reference  # its reference is tf.GradientTape on the Keras model
@pytest.mark.parametrize("activation,act_layer", [("relu", False), ("selu", False),
                                                  ("leaky_relu", True), ("relu", True)])
@pytest.mark.parametrize("mode", ["guided", "deconvnet"])
def test_backprop_modifiers_on_relu_selu_leakyrelu(x, activation, act_layer, mode):
    model = _small(activation, act_layer)
    t = np.array([0, 1, 2, 3, 4, 1])
    g, _ = vis.gradients(model, x, t, modifier=mode)
    np.testing.assert_allclose(g, _manual_modified_grad(model, x, t, mode), atol=1e-5)
    vanilla, _ = vis.gradients(model, x, t)
    assert not np.allclose(g, vanilla, atol=1e-4)  # the modifier changes the map


@pytest.mark.tf_reference  # its reference is tf.GradientTape on the Keras model
def test_tf_keras_vis_agreement(x):
    """Vanilla, guided and Grad-CAM equal tf-keras-vis's on the same model (within 1e-4)."""
    pytest.importorskip("tf_keras_vis")
    from tf_keras_vis.gradcam import Gradcam
    from tf_keras_vis.gradcam_plus_plus import GradcamPlusPlus
    from tf_keras_vis.saliency import Saliency
    from tf_keras_vis.utils.model_modifiers import GuidedBackpropagation, ReplaceToLinear
    from tf_keras_vis.utils.scores import CategoricalScore
    model = _small()
    t = [0, 1, 2, 3, 4, 2]
    score = CategoricalScore(t)
    theirs = Saliency(model, model_modifier=ReplaceToLinear(), clone=True)(score, x)
    np.testing.assert_allclose(vis.saliency(model, x, t), theirs, atol=1e-4)
    guided = Saliency(model, model_modifier=[ReplaceToLinear(), GuidedBackpropagation()],
                      clone=True)(score, x)
    np.testing.assert_allclose(vis.saliency(model, x, t, modifier="guided"), guided, atol=1e-4)
    for cls, plus in ((Gradcam, False), (GradcamPlusPlus, True)):
        cam = cls(model, model_modifier=ReplaceToLinear(), clone=True)(
            score, x, penultimate_layer="conv1", expand_cam=False)
        ours = vis.gradcam(model, x, t, layer="conv1", plus=plus, expand=False)
        np.testing.assert_allclose(ours, cam, atol=1e-4)


def test_integrated_gradients_completeness(x):
    model = _small("selu")
    t = [0, 1, 2, 3, 4, 1]
    attr = vis.integrated_gradients(model, x, t, steps=64)
    assert attr.shape == x.shape
    assert np.all(vis.completeness_gap(model, x, attr, t) < 0.02)
    few = vis.integrated_gradients(model, x, t, steps=1)  # one trapezoid: visibly worse
    assert vis.completeness_gap(model, x, few, t).mean() > vis.completeness_gap(
        model, x, attr, t).mean()


@pytest.mark.tf_reference  # its reference is tf.GradientTape on the Keras model
def test_smoothgrad_averages_noisy_gradients(x):
    model = _small("selu")
    sg = vis.saliency(model, x[:2], 1, smooth_samples=8, absolute=False, keepdims=True,
                      scale=False, seed=3)
    rng = np.random.default_rng(3)
    sigma = 0.2 * (x[:2].max(axis=(1, 2, 3), keepdims=True) - x[:2].min(axis=(1, 2, 3),
                                                                        keepdims=True))
    ref = np.mean([_logit_grad(model, x[:2] + rng.normal(0, 1, x[:2].shape).astype("float32")
                               * sigma, np.ones(2, int))[0] for _ in range(8)], axis=0)
    np.testing.assert_allclose(sg, ref, atol=1e-5)


def test_gradcam_finds_the_last_conv_layer_and_upsamples(x):
    model = _small()
    assert vis.last_conv_layer(model).name == "conv1"
    cam = vis.gradcam(model, x, [1] * 6)
    assert cam.shape == (6, 20, 16) and cam.min() >= 0 and cam.max() <= 1 + 1e-6
    dense = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="no convolutional layer"):
        vis.last_conv_layer(dense)


def test_works_on_any_input_size_and_channels_and_fer_models():
    for shape in ((32, 40, 1), (17, 23, 4)):
        m = _small(input_shape=shape)
        xs = np.random.default_rng(1).normal(size=(3, *shape)).astype("float32")
        assert vis.saliency(m, xs, modifier="guided").shape == (3, *shape[:2])
        assert vis.gradcam(m, xs).shape == (3, *shape[:2])
    for name in ("vgg_selu", "cnn3"):
        m = models.build(name, width=0.125)
        xs = np.random.default_rng(2).normal(size=(2, 48, 48, 1)).astype("float32")
        for mod in vis.MODIFIERS:
            assert np.isfinite(vis.saliency(m, xs, modifier=mod)).all()
        assert vis.gradcam(m, xs, plus=True).shape == (2, 48, 48)


def test_gradient_ascent_raises_each_filter_batched():
    model = _small("selu")
    res = vis.maximize(model, "conv1", list(range(8)), steps=60, lr=2.0, seed=0, progress=False)
    assert res.images.shape == (8, 20, 16, 3) and res.images.dtype == np.uint8
    assert np.all(res.final > res.start + 3 * np.abs(res.start).max())  # far above any start
    # the batch holds independent problems: one filter alone, same start, same result
    init = np.random.default_rng(5).normal(0, 0.1, (3, 20, 16, 3)).astype("float32")
    batch = vis.maximize(model, "conv1", [2, 5, 7], steps=10, lr=1.0, jitter=0, init=init,
                         progress=False)
    alone = vis.maximize(model, "conv1", [5], steps=10, lr=1.0, jitter=0, init=init[1:2],
                         progress=False)
    np.testing.assert_allclose(batch.raw[1], alone.raw[0], atol=1e-4)
    cls = vis.maximize(model, -1, [0, 4], steps=20, lr=1.0, progress=False)
    assert np.all(cls.final > cls.start)


def test_gradient_ascent_in_the_models_value_range():
    # a model fed raw 0-255 pixels: steps and start scale with the range, images stay in it
    model = _small("selu", raw=True)
    res = vis.maximize(model, "conv1", list(range(4)), steps=30, lr=0.5, jitter=0,
                       value_range=(0, 255), seed=0, progress=False)
    assert res.raw.min() >= 0 and res.raw.max() <= 255
    assert abs(res.raw.mean() - 127.5) < 100  # started about the middle, not about 0
    assert np.all(res.raw.std(axis=(1, 2, 3)) > 20)  # structure on the pixel scale, not flat
    assert np.all(res.final > res.start)
    # keras.io's scale on the same model barely moves a 0-255 image: what this fixes
    flat = vis.maximize(model, "conv1", list(range(4)), steps=30, lr=0.5, jitter=0, seed=0,
                        progress=False)
    assert np.all(flat.raw.std(axis=(1, 2, 3)) < 1)
    with pytest.raises(ValueError, match="lo < hi"):
        vis.maximize(model, "conv1", [0], steps=1, value_range=(1, 0), progress=False)


def test_feature_maps_and_kernels():
    model = _small()
    img = np.random.default_rng(0).normal(size=(20, 16, 3)).astype("float32")
    fm = vis.feature_maps(model, "conv0", img)
    ref = keras.ops.convert_to_numpy(
        keras.Model(model.inputs, model.get_layer("conv0").output)(img[None]))[0]
    np.testing.assert_allclose(fm, ref, atol=1e-6)
    assert vis.kernels(model, "conv1").shape == (3, 3, 6, 8)
    with pytest.raises(ValueError, match="no 2-D convolution kernel"):
        vis.kernels(model, "pool0")


def _edge_model():
    """Input -> 'copy' (the pixels) -> 2x2 max-pool -> 'sobel' (two fixed 3x3 kernels)."""
    k = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32)
    inp = keras.Input((48, 48, 1))
    copy = keras.layers.Conv2D(1, 1, use_bias=False, name="copy")
    sobel = keras.layers.Conv2D(2, 3, padding="same", use_bias=False, name="sobel")
    model = keras.Model(inp, sobel(keras.layers.MaxPooling2D(name="pool")(copy(inp))))
    copy.set_weights([np.ones((1, 1, 1, 1), np.float32)])
    sobel.set_weights([np.stack([k, k.T], -1)[:, :, None, :]])
    return model, np.stack([k, k.T])


def test_face_following_against_the_maps_written_out():
    from scipy import ndimage
    model, ks = _edge_model()
    rng = np.random.default_rng(0)
    faces = np.zeros((6, 48, 48))  # bright blobs on a black border: the Sobel layer's zero
    faces[:, 6:-6, 6:-6] = np.maximum(0, 100 + 300 * ndimage.gaussian_filter(  # padding adds
        rng.normal(size=(6, 36, 36)), (0, 2, 2)))  # no edge; positive, so |copy| is the face
    x = faces[..., None].astype(np.float32)
    r = lambda a, b: np.corrcoef(a.ravel(), b.ravel())[0, 1]  # noqa: E731
    edges = [np.hypot(ndimage.sobel(f, 0), ndimage.sobel(f, 1)) for f in faces]
    copy = vis.face_following(model, "copy", x)
    np.testing.assert_allclose(copy["r_image"], 1, atol=1e-6)  # the map is the face
    np.testing.assert_allclose(copy["r_edges"], [r(f, e) for f, e in zip(faces, edges)],
                               atol=1e-5)
    assert copy.attrs["size"] == (48, 48) and copy.attrs["filters"] == 1
    after = vis.face_following(model, "sobel", x)
    for i, f in enumerate(faces):  # pool, correlate with zero padding, mean |response|
        pooled = f.reshape(24, 2, 24, 2).max((1, 3))
        energy = np.mean([np.abs(ndimage.correlate(pooled, k, mode="constant")) for k in ks], 0)
        assert after["r_image"][i] == pytest.approx(r(energy, ndimage.zoom(f, 0.5, order=1)),
                                                    abs=1e-4)
        assert after["r_edges"][i] == pytest.approx(
            r(energy, ndimage.zoom(edges[i], 0.5, order=1)), abs=1e-4)
    table, text = vis.face_following_reading(model, ["copy", "sobel"], x)
    assert table.loc["sobel", "size"] == "24x24"
    assert table.loc["copy", "r_edges"] == pytest.approx(copy["r_edges"].mean())
    se = after["r_image"].std(ddof=1) / np.sqrt(6)
    assert table.loc["sobel", "r_image_se"] == pytest.approx(se)
    lines = text.splitlines()
    assert lines[1].startswith("  copy (48x48): follows the face's brightness with r = 1.00")
    # the Sobel maps draw edges, not brightness: the drop is far beyond its noise
    assert lines[3].startswith("From copy to sobel, r with the face's brightness changes by -")
    assert lines[3].endswith("resolved: sobel follows it less closely.")
    assert lines[4].startswith("From copy to sobel, r with the face's edges changes by +")
    assert lines[5].startswith("So copy's maps mostly copy the face's light and dark regions")
    assert table.loc["sobel", "r_edges"] > table.loc["sobel", "r_image"]  # why line 5 is said
    # after pooling, one filter copies the face and one draws its edges: brightness falls and
    # edges rise, both resolved, yet the maps still follow brightness more than edges, so
    # the reading must not say the second layer draws edges instead
    inp = keras.Input((48, 48, 1))
    mix = keras.layers.Conv2D(2, 3, padding="same", use_bias=False, name="mix")
    mixed = keras.Model(inp, mix(keras.layers.MaxPooling2D()(model.get_layer("copy")(inp))))
    centre = np.zeros((3, 3), np.float32)
    centre[1, 1] = 1
    mix.set_weights([np.stack([centre, 0.1 * ks[0]], -1)[:, :, None, :]])
    t, mix_text = vis.face_following_reading(mixed, ["copy", "mix"], x)
    assert t.loc["mix", "r_image"] > t.loc["mix", "r_edges"]
    assert "resolved: mix follows it less closely" in mix_text
    assert "resolved: mix follows them more closely" in mix_text
    assert not any(l.startswith("So ") for l in mix_text.splitlines())
    with pytest.raises(ValueError, match="expected 2 layers and at least 2 faces, got 1 layers"):
        vis.face_following_reading(model, ["copy"], x)


def test_cascading_randomization_and_mask_share():
    model = _small()
    xs = np.random.default_rng(4).normal(size=(4, 20, 16, 3)).astype("float32")
    table = vis.cascading_randomization(model, xs, methods=["vanilla", "gradcam"],
                                        progress=False)
    assert set(table["method"]) == {"vanilla", "gradcam"}
    assert table["step"].max() == 4  # conv0, conv1, fc, predictions
    last = table[table["step"] == 4].set_index("method")["spearman"]
    assert (last < 0.9).all()  # a fully random model gives different maps
    # the user's model is untouched
    np.testing.assert_allclose(vis.saliency(model, xs, 1), vis.saliency(model, xs, 1))
    maps = np.zeros((2, 4, 4))
    maps[0, :2] = 1.0
    maps[1] = 1.0
    masks = np.zeros((2, 4, 4), bool)
    masks[:, :2] = True
    df = vis.mask_share(maps, masks)
    np.testing.assert_allclose(df["share"], [1.0, 0.5])
    np.testing.assert_allclose(df["ratio"], [2.0, 1.0])


# ---- the graphs share every variable with the model, and never change it ------------------
@pytest.mark.tf_reference  # its reference is tf.GradientTape on the Keras model
def test_reinitializing_the_output_layer_changes_the_maps(x):
    """The logits copy of a softmax layer shares its variables (it used to copy them)."""
    model = _small()
    ex = vis.Explainer(model)
    t = np.array([0, 1, 2, 3, 4, 0])
    before = ex.saliency(x, t, scale=False)
    head = model.get_layer("predictions")
    rng = np.random.default_rng(1)
    for v in head.weights:
        v.assign(rng.normal(0, 0.3, v.shape).astype("float32"))
    after = ex.saliency(x, t, scale=False)
    ref, _ = _logit_grad(model, x, t)
    np.testing.assert_allclose(after, np.abs(ref).max(-1), atol=1e-5)
    assert not np.allclose(before, after, atol=1e-4)
    # and the sanity check sees it: the first step (the output layer) moves every method
    table = vis.cascading_randomization(model, x, t, methods=["vanilla", "guided"],
                                        progress=False)
    first = table[table["step"] == 1].set_index("method")["spearman"]
    assert table[table["step"] == 1]["layer"].iloc[0] == "predictions"
    assert (first < 0.999).all()


@pytest.mark.tf_reference  # its reference is tf.GradientTape on the Keras model
def test_a_training_step_shows_in_the_next_call(x):
    model = _small()
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy")
    ex = vis.Explainer(model)
    t = np.array([0, 1, 2, 3, 4, 0])
    g0, _ = ex.gradients(x, t)
    model.train_on_batch(x, np.array([1, 2, 3, 4, 0, 1]))
    g1, s1 = ex.gradients(x, t)
    ref, logits = _logit_grad(model, x, t)  # the trained model, by hand
    np.testing.assert_allclose(g1, ref, atol=1e-5)
    np.testing.assert_allclose(s1, logits[np.arange(6), t], atol=1e-5)
    assert not np.allclose(g0, g1, atol=1e-5)
    cam0 = ex.gradcam(x, t, layer="conv1", scale=False)
    model.get_layer("conv1").kernel.assign(model.get_layer("conv1").kernel * -1.0)
    assert not np.allclose(cam0, ex.gradcam(x, t, layer="conv1", scale=False))


class _SetattrSpy:
    """Records every attribute set on a layer (installed as a subclass of its class)."""

    def __init__(self, layers):
        self.log, self.classes = [], {lay: type(lay) for lay in layers}
        for lay in layers:
            log = self.log
            base = type(lay)

            def setattr_(obj, name, value, base=base, log=log):
                log.append((obj.__dict__.get("name"), name))
                base.__setattr__(obj, name, value)
            lay.__class__ = type(f"Spy{base.__name__}", (base,), {"__setattr__": setattr_})

    def remove(self):
        for lay, cls in self.classes.items():
            lay.__class__ = cls


@pytest.mark.parametrize("activation,act_layer", [("relu", False), ("selu", True)])
def test_the_users_model_is_never_changed(x, activation, act_layer):
    from fer_kit.keras_vis.visualization import (visualize_activation, visualize_cam,
                                                 visualize_saliency)
    model = _small(activation, act_layer)
    weights = [w.copy() for w in model.get_weights()]
    acts = {lay.name: getattr(lay, "activation", None) for lay in model.layers}
    out = model.predict(x, verbose=0)
    spy = _SetattrSpy(model.layers)
    t = [0, 1, 2, 3, 4, 0]
    for mod in vis.MODIFIERS:
        vis.saliency(model, x, t, modifier=mod)
        vis.saliency(model, x, t, modifier=mod, smooth_samples=2)
        vis.maximize(model, "conv1", [0, 1], steps=2, modifier=mod, progress=False)
    vis.gradcam(model, x, t, plus=True)
    vis.integrated_gradients(model, x, t, steps=2)
    vis.feature_maps(model, "conv0", x[0])
    visualize_saliency(model, -1, 2, x[0], backprop_modifier="guided")
    visualize_cam(model, -1, 2, x[0], backprop_modifier="relu")
    visualize_activation(model, -1, 2, max_iter=2)
    spy.remove()  # clone_model (below) rebuilds layers from their class
    assert [name for name in spy.log if name[1] == "activation"] == []
    vis.cascading_randomization(model, x[:2], t[:2], methods=["vanilla"], progress=False)
    assert all(getattr(lay, "activation", None) is acts[lay.name] for lay in model.layers)
    for a, b in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(out, model.predict(x, verbose=0))


@pytest.mark.tf_reference  # its reference is tf.GradientTape on the Keras model
def test_preprocessing_layers_first_gradients_are_wrt_raw_pixels():
    """A model that takes uint8-range pixels and normalizes inside (Rescaling, Normalization):
    gradients are with respect to the raw input, as autodiff of the whole model gives."""
    keras.utils.set_random_seed(4)
    inp = keras.Input((20, 16, 1))
    h = keras.layers.Rescaling(1 / 255.0)(inp)
    h = keras.layers.Normalization(mean=0.45, variance=0.04)(h)
    h = keras.layers.Conv2D(6, 3, activation="relu", name="conv0")(h)
    h = keras.layers.Flatten()(h)
    out = keras.layers.Dense(5, activation="softmax", name="predictions")(h)
    model = keras.Model(inp, out)
    x = np.random.default_rng(0).integers(0, 256, (3, 20, 16, 1)).astype("float32")
    t = np.array([0, 2, 4])
    g, _ = vis.gradients(model, x, t)
    ref, _ = _logit_grad(model, x, t)
    np.testing.assert_allclose(g, ref, rtol=1e-4, atol=1e-7)
    assert vis.gradcam(model, x, t).shape == (3, 20, 16)
    assert vis.saliency(model, x, t, modifier="guided").shape == (3, 20, 16)


def test_keras_vis_names_moved_out_of_fk_vis_with_a_pointer():
    """fer_kit.keras_vis imports fer_kit.vis, so fk.vis no longer re-exports keras-vis's calls;
    the old names answer with the import that replaces them."""
    with pytest.raises(AttributeError, match=r"from fer_kit\.keras_vis\.visualization import "
                                             r"visualize_saliency"):
        vis.visualize_saliency  # noqa: B018
    with pytest.raises(AttributeError, match=r"has no attribute 'no_such_name'"):
        vis.no_such_name  # noqa: B018
    assert not any(name.startswith("visualize_") for name in vis.__all__)
