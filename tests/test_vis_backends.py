"""fer_kit.vis on other Keras backends: the same saved model explained under TensorFlow (here)
and under JAX / torch (a subprocess with KERAS_BACKEND set) gives the same maps.

Skips a backend whose package is not installed (JAX and torch are not dependencies).
"""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from scipy.stats import spearmanr

from fer_kit import models, vis
from fer_kit.keras_vis.master.visualization import visualize_cam  # a float map to compare
from fer_kit.keras_vis.visualization import visualize_activation

SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import keras
    sys.path.insert(0, sys.argv[4])
    from test_vis_backends import explain_all
    assert keras.backend.backend() == sys.argv[1], keras.backend.backend()
    model = keras.saving.load_model(sys.argv[2], compile=False)
    np.savez(sys.argv[3], **explain_all(model, np.load(sys.argv[2] + ".x.npy")))
""")


def explain_all(model, x) -> dict:
    """Saliency (three modifiers), Grad-CAM, IG, activation maximization, keras-vis's calls."""
    ex = vis.Explainer(model)
    t = [i % 5 for i in range(len(x))]
    conv = vis.last_conv_layer(model).name
    out = {"vanilla": ex.saliency(x, t, scale=False),
           "guided": ex.saliency(x, t, modifier="guided", scale=False),
           "deconvnet": ex.saliency(x, t, modifier="deconvnet", scale=False),
           "gradcam": ex.gradcam(x, t, scale=False),
           "gradcam++": ex.gradcam(x, t, plus=True, scale=False),
           "integrated_gradients": ex.integrated_gradients(x, t, steps=8),
           "maximize": ex.maximize(conv, [0, 1, 2], steps=10, jitter=0, progress=False).raw,
           "visualize_cam": visualize_cam(model, -1, 1, x[0])[None]}
    np.random.seed(0)
    out["visualize_activation"] = visualize_activation(
        model, -1, 1, seed_input=x[0] * 40 + 128, input_range=(0.0, 255.0), max_iter=5)[None]
    return out


def _residual():
    keras.utils.set_random_seed(0)
    inp = keras.Input((24, 24, 3))
    h = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inp)
    r = keras.layers.SeparableConv2D(8, 3, padding="same", activation="relu")(h)
    h = keras.layers.Activation("relu")(keras.layers.Add()([h, r]))
    h = keras.layers.MaxPooling2D(2)(h)
    h = keras.layers.SeparableConv2D(16, 3, padding="same", activation="relu", name="sep")(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    return keras.Model(inp, keras.layers.Dense(5, activation="softmax")(h))


def _vgg():
    keras.utils.set_random_seed(1)
    return models.build("vgg_selu", width=0.125)


@pytest.mark.parametrize("backend", ["jax", "torch"])
@pytest.mark.parametrize("build", [_vgg, _residual], ids=["vgg_selu", "residual"])
def test_the_same_maps_on_another_backend(tmp_path, backend, build):
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed")
    model = build()
    path = str(tmp_path / "model.keras")
    model.save(path)
    x = np.random.default_rng(0).normal(size=(3, *model.input_shape[1:])).astype("float32")
    np.save(path + ".x.npy", x)
    ours = explain_all(model, x)
    env = {**os.environ, "KERAS_BACKEND": backend}
    done = subprocess.run([sys.executable, "-c", SCRIPT, backend, path,
                           str(tmp_path / "theirs.npz"), os.path.dirname(__file__)],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    theirs = np.load(tmp_path / "theirs.npz")
    for name, a in ours.items():
        b = theirs[name]
        rho = [spearmanr(a[i].ravel(), b[i].ravel())[0] for i in range(len(a))]
        assert min(rho) >= 0.99, f"{name}: rank correlation {np.round(rho, 4)} across backends"
        np.testing.assert_allclose(b, a, rtol=1e-3, atol=1e-3 * np.abs(a).max(),
                                   err_msg=name)
    assert not np.allclose(ours["maximize"], theirs["maximize"][::-1])  # a check that can fail
