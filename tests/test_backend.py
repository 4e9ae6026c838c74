"""fer_kit.backend: the warp against TensorFlow's own op, the gradient against finite
differences, on whichever Keras backend runs (make test runs this file on each)."""
from __future__ import annotations

import subprocess
import sys

import keras
import numpy as np
import pytest
from keras import ops

from fer_kit import augment
from fer_kit.augment import AugmentConfig
from fer_kit.backend import autodiff, warp

RANDOM = AugmentConfig(rotation_range=40, width_shift_range=0.3, height_shift_range=0.3,
                       horizontal_flip=True, zoom_range=0.3)


def random_vectors(cfg: AugmentConfig, b: int, h: int, w: int, seed: int) -> np.ndarray:
    """(b, 8) warp vectors of random rotations, shifts, zooms and flips (NumPy draws)."""
    rng = np.random.default_rng(seed)
    params = augment.sample_params(
        cfg, h, w, lambda k, lo, hi: rng.uniform(lo, hi, b).astype(np.float32), ops)
    return np.asarray(ops.convert_to_numpy(augment.transform_vectors(*params, h, w, ops)))


def tf_reference(x: np.ndarray, vec: np.ndarray, fill_mode: str, cval: float) -> np.ndarray:
    """TensorFlow's ImageProjectiveTransformV3: the independent warp (TensorFlow installed)."""
    tf = pytest.importorskip("tensorflow")
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=x, transforms=vec, output_shape=list(x.shape[1:3]), fill_value=cval,
        interpolation="BILINEAR", fill_mode=fill_mode.upper()).numpy()


def test_importing_the_backend_package_does_not_load_keras():
    # fer_kit/__init__.py selects the backend through it before Keras loads
    code = "import sys, fer_kit.backend; assert 'keras' not in sys.modules, 'keras loaded'"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("fill_mode, cval", [("nearest", 0.0), ("constant", 0.0),
                                             ("constant", 77.0), ("reflect", 0.0)])
def test_warp_on_this_backend_equals_tensorflows_op(fill_mode, cval):
    """``warp``, whichever kernel this backend picks (XLA gathers, grid_sample, Keras's
    affine_transform), against TensorFlow's op; edges included."""
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 255, (16, 20, 24, 2)).astype(np.float32)
    vec = random_vectors(RANDOM, 16, 20, 24, seed=7)
    ref = tf_reference(x, vec, fill_mode, cval)
    ours = np.asarray(ops.convert_to_numpy(warp.warp(x, vec, fill_mode, cval)))
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, atol=1e-2)
    assert np.abs(ours - x).max() > 50  # the transforms really moved the pixels


@pytest.mark.parametrize("channels", [1, 3])
def test_fast_nearest_warp_equals_tensorflows_op(channels):
    # the XLA gather warp (fill 'nearest') against ImageProjectiveTransformV3, random
    # rotations, shifts, zooms and flips, interior and edges alike
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 255, (16, 20, 24, channels)).astype(np.float32)
    vec = random_vectors(RANDOM, 16, 20, 24, seed=4)
    ref = tf_reference(x, vec, "nearest", 0.0)
    assert warp._xla_nearest_warp() is not None  # else this compares the op with itself
    ours = warp.warp_tf(tf.constant(x), vec).numpy()
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, atol=1e-2)
    assert np.abs(ours - x).max() > 50


def test_warp_falls_back_to_tensorflows_op_without_xla(monkeypatch):
    tf = pytest.importorskip("tensorflow")
    x = np.random.default_rng(0).uniform(0, 255, (2, 12, 12, 1)).astype(np.float32)
    vec = augment.transform_vectors(tf.constant([30.0, -10.0]), tf.constant([1.5, 0.0]),
                                    tf.constant([0.0, -2.0]), tf.ones(2), tf.ones(2),
                                    tf.constant([0.0, 1.0]), 12, 12, tf)
    fast = warp.warp_tf(tf.constant(x), vec).numpy()
    monkeypatch.setattr(warp, "_XLA_WARP", [None])  # a build without XLA
    slow = warp.warp_tf(tf.constant(x), vec).numpy()
    np.testing.assert_allclose(fast, slow, atol=1e-2)


@pytest.mark.parametrize("fill_mode, cval", [("nearest", 0.0), ("constant", 0.0),
                                             ("constant", 77.0)])
def test_torch_grid_sample_warp_equals_tensorflows_op(fill_mode, cval):
    """The PyTorch backend's warp (one grid_sample) against TensorFlow's
    ImageProjectiveTransformV3: random rotations, shifts, zooms and flips, edges included."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 255, (16, 20, 24, 2)).astype(np.float32)
    vec = random_vectors(RANDOM, 16, 20, 24, seed=1)
    ref = tf_reference(x, vec, fill_mode, cval)
    ours = warp.warp_torch(torch.from_numpy(x), torch.from_numpy(vec), fill_mode, cval).numpy()
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, atol=1e-2)  # measured: within 5e-4, edges too
    assert np.abs(ours - x).max() > 50


# ---- the gradient --------------------------------------------------------------------------
def finite_difference(f, x: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """Central differences of a scalar NumPy function, in float64."""
    g = np.zeros_like(x, np.float64)
    for i in np.ndindex(x.shape):
        d = np.zeros_like(x)
        d[i] = eps
        g[i] = (f(x + d) - f(x - d)) / (2 * eps)
    return g


@pytest.mark.parametrize("compiled", [True, False])
def test_value_and_grad_equals_finite_differences_and_follows_the_weights(compiled):
    """d sum(score)/d inputs of a Dense layer's tanh (a function of the layer's weights):
    against central differences, and again after the weights change (JAX maps them in at
    every call; a compiled function that froze them would fail the second check)."""
    rng = np.random.default_rng(0)
    layer = keras.layers.Dense(3, dtype="float64")
    layer.build((None, 4))
    w = rng.normal(size=3)
    x = rng.normal(size=(5, 4))

    def fn(inputs, weights):  # score (N,), aux: the activations
        out = ops.tanh(layer(inputs[0]))
        return ops.sum(out * weights, axis=1), out

    def numpy_total(v):
        k, b = (np.asarray(ops.convert_to_numpy(t), np.float64) for t in layer.weights)
        return float((np.tanh(v @ k + b) * w).sum())

    run = autodiff.value_and_grad(fn, layer.weights, compiled=compiled)
    for _ in range(2):
        (grad,), score, aux = run([x], w)
        tol = 1e-7 if grad.dtype == np.float64 else 1e-4  # JAX without x64: float32
        np.testing.assert_allclose(grad, finite_difference(numpy_total, x), atol=tol, rtol=tol)
        np.testing.assert_allclose(score.sum(), numpy_total(x), rtol=tol)
        assert aux.shape == (5, 3)
        layer.kernel.assign(rng.normal(size=(4, 3)))
    forward = autodiff.forward(lambda inputs, weights: fn(inputs, weights)[0], layer.weights,
                               compiled=compiled)
    np.testing.assert_allclose(forward([x], w).sum(), numpy_total(x), rtol=tol)


def test_theory_and_vis_use_the_one_gradient():
    from fer_kit import theory
    from fer_kit.vis import autodiff as vis_autodiff
    assert vis_autodiff.value_and_grad is autodiff.value_and_grad
    z = np.random.default_rng(1).normal(size=(3, 4))
    (g,) = theory.autodiff(lambda t: ops.sum(ops.sin(t)), z)  # d/dz sum(sin z) = cos z
    np.testing.assert_allclose(g, np.cos(z), rtol=1e-5, atol=1e-6)


def test_an_unknown_backend_is_named(monkeypatch):
    monkeypatch.setattr(autodiff, "name", lambda: "numpy")
    with pytest.raises(NotImplementedError, match="no autodiff for the numpy backend"):
        autodiff.value_and_grad(lambda inputs: (inputs[0], None))

