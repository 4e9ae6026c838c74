"""Seed 000's derivations checked against Keras layer shapes and TensorFlow autodiff."""
from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from fer_kit import theory


@pytest.mark.parametrize("case", range(25))
def test_conv_output_shape_matches_keras(case):
    rng = np.random.default_rng(case)
    h, w = rng.integers(8, 40, 2)
    k = tuple(rng.integers(1, 6, 2))
    s = tuple(rng.integers(1, 4, 2))
    padding = ["valid", "same"][case % 2]
    layer = keras.layers.Conv2D(2, k, strides=s, padding=padding)
    out = layer.compute_output_shape((1, int(h), int(w), 1))[1:3]
    assert theory.conv_output_shape((int(h), int(w)), k, s, padding) == tuple(out)
    # explicit zero padding p: the same as padding the input by p then 'valid'
    p = int(rng.integers(0, 3))
    padded = keras.layers.ZeroPadding2D(p).compute_output_shape((1, int(h), int(w), 1))
    out = layer.__class__(2, k, strides=s).compute_output_shape(padded)[1:3]
    assert theory.conv_output_shape((int(h), int(w)), k, s, p) == tuple(out)


def test_conv_shapes_of_seed000_cnn():
    # 48 -> conv3 -> 46 -> pool -> 23; conv6 -> 18 -> pool 9; conv4 -> 6 -> pool 3
    assert theory.conv_output_size(48, 3) == 46 and theory.conv_output_size(46, 2, 2) == 23
    assert theory.conv_output_size(23, 6) == 18 and theory.conv_output_size(9, 4) == 6
    with pytest.raises(ValueError, match="does not fit"):
        theory.conv_output_size(3, 5)


@pytest.mark.parametrize("case", range(10))
@pytest.mark.tf_reference
def test_batchnorm_forward_backward_match_tensorflow(case):
    rng = np.random.default_rng(case)
    m, d = int(rng.integers(2, 20)), int(rng.integers(1, 8))
    x = rng.normal(rng.normal(), rng.uniform(0.1, 3), (m, d))
    gamma, beta = rng.normal(size=d), rng.normal(size=d)
    g = rng.normal(size=(m, d))
    y, cache = theory.batchnorm_forward(x, gamma, beta, eps=1e-3)
    dx, dgamma, dbeta = theory.batchnorm_backward(g, cache)

    xt = tf.constant(x)
    bn = keras.layers.BatchNormalization(epsilon=1e-3, momentum=0.0, dtype="float64")
    bn.build((None, d))
    bn.gamma.assign(gamma)
    bn.beta.assign(beta)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        yt = bn(xt, training=True)
        loss = tf.reduce_sum(yt * g)
    ref_dx, ref_dgamma, ref_dbeta = tape.gradient(loss, [xt, bn.gamma, bn.beta])
    np.testing.assert_allclose(y, yt.numpy(), atol=1e-8)
    np.testing.assert_allclose(dx, ref_dx.numpy(), atol=1e-8)
    np.testing.assert_allclose(dgamma, ref_dgamma.numpy(), atol=1e-8)
    np.testing.assert_allclose(dbeta, ref_dbeta.numpy(), atol=1e-8)
    # the closed form in the docstring agrees with the step-by-step one
    x_hat, inv = cache[1], cache[4]
    closed = gamma * inv / m * (m * g - g.sum(0) - x_hat * (g * x_hat).sum(0))
    np.testing.assert_allclose(dx, closed, atol=1e-10)


@pytest.mark.parametrize("case", range(10))
def test_softmax_cross_entropy_gradient(case):
    rng = np.random.default_rng(case)
    n, k = int(rng.integers(1, 16)), int(rng.integers(2, 10))
    z = rng.normal(0, 3, (n, k))
    y = np.eye(k)[rng.integers(0, k, n)] if case % 2 else rng.dirichlet(np.ones(k), n)
    zt = tf.constant(z)
    with tf.GradientTape() as tape:
        tape.watch(zt)
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(y, zt))
    np.testing.assert_allclose(theory.cross_entropy(z, y), loss.numpy(), rtol=1e-10)
    np.testing.assert_allclose(theory.cross_entropy_grad(z, y), tape.gradient(loss, zt).numpy(),
                               atol=1e-12)
