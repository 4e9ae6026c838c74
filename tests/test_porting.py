"""docs/porting.md: its tested code blocks run, and the rewrites of the course's K.gradients
template compute what the template computed (the gradient of the class probability; the
mean activation of a filter)."""
from __future__ import annotations

import pathlib
import re

import keras
import numpy as np
import pytest

PAGE = pathlib.Path(__file__).resolve().parents[1] / "docs" / "porting.md"


def _blocks() -> list[str]:
    """The ```python blocks that follow a '<!-- tested' comment, in page order."""
    text = PAGE.read_text()
    return re.findall(r"<!-- tested[^>]*-->\s*```python\n(.*?)```", text, flags=re.S)


def _namespace():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((48, 48, 1)), keras.layers.Conv2D(8, 3, name="conv2d_1"),
        keras.layers.LeakyReLU(name="leaky_re_lu_1"), keras.layers.Flatten(),
        keras.layers.Dense(7, activation="softmax")])
    x = np.random.default_rng(0).random((1, 48, 48, 1)).astype("float32")
    return {"emotion_classifier": model, "x": x, "name": "leaky_re_lu_1", "filter_idx": 3,
            "num_step": 5, "learning_rate": 0.05}


def test_the_page_has_its_tested_blocks_and_links_from_the_readme():
    assert len(_blocks()) == 3
    readme = (PAGE.parents[1] / "README.md").read_text()
    assert "docs/porting.md" in readme


def test_the_saliency_rewrite_is_the_templates_gradient():
    ns = _namespace()
    exec(_blocks()[0], ns)
    model, x = ns["emotion_classifier"], ns["x"]
    assert ns["heatmap"].shape == (48, 48)
    # the template's quantity by finite differences: d mean(p[:, pred]) / dx at a few pixels.
    # A small step: one of 1e-2 crosses LeakyReLU kinks (6% off at one pixel on PyTorch)
    c, eps = int(ns["pred"][0]), 1e-3
    for i, j in [(10, 10), (24, 30), (40, 5)]:
        up, down = x.copy(), x.copy()
        up[0, i, j, 0] += eps
        down[0, i, j, 0] -= eps
        fd = (model.predict(up, verbose=0)[0, c] - model.predict(down, verbose=0)[0, c]) / (2 * eps)
        np.testing.assert_allclose(ns["val_grads"][0, i, j, 0], fd, rtol=0.05,
                                   atol=1e-3 * np.abs(ns["val_grads"]).max())
    if keras.backend.backend() == "tensorflow":
        fk_grads = ns["val_grads"]
        exec(_blocks()[1], ns)
        np.testing.assert_allclose(ns["val_grads"], fk_grads, rtol=1e-4, atol=1e-9)


def test_the_gradient_ascent_rewrite_climbs_the_filters_mean():
    ns = _namespace()
    np.random.seed(5)  # the block starts from np.random.random
    exec(_blocks()[2], ns)
    model = ns["emotion_classifier"]
    layer = keras.Model(model.inputs, model.get_layer("leaky_re_lu_1").output)
    start = np.random.RandomState(5).random((1, 48, 48, 1)).astype("float32")
    target, grads = ns["iterate"](start)
    out = keras.ops.convert_to_numpy(layer(start))
    np.testing.assert_allclose(target, out[..., 3].mean(), rtol=1e-5)  # K.mean(output[..., f])
    np.testing.assert_allclose(np.sqrt(np.mean(grads ** 2)), 1.0, rtol=1e-2)  # + 1e-7
    np.testing.assert_allclose(ns["im"], keras.ops.convert_to_numpy(layer(ns["x"])), atol=1e-6)
    assert ns["iterate"](ns["input_image_data"])[0] > target  # five steps climbed
