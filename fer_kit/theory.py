"""Seed 000's question 6, written correctly, in NumPy (checked against TensorFlow in the tests).

1. Convolution output size, per spatial axis::

       out = floor((W + 2p - k) / s) + 1

   (the height uses H, not W; seed 000 wrote W for both).

2. Batch normalization over a batch of m rows, eps > 0::

       mu = mean(x),  var = mean((x - mu)^2)            (biased variance)
       x_hat = (x - mu) * (var + eps)^(-1/2)
       y = gamma * x_hat + beta

   Backward, with g = dL/dy::

       dL/dbeta  = sum(g)
       dL/dgamma = sum(g * x_hat)
       dL/dx_hat = g * gamma
       dL/dvar   = sum(dL/dx_hat * (x - mu)) * (-1/2) * (var + eps)^(-3/2)
       dL/dmu    = -sum(dL/dx_hat) * (var + eps)^(-1/2)      (+ dL/dvar * mean(-2 (x - mu)) = 0)
       dL/dx     = dL/dx_hat * (var + eps)^(-1/2) + dL/dvar * 2 (x - mu) / m + dL/dmu / m

   which simplifies to
   ``dL/dx = gamma (var+eps)^(-1/2) / m * (m g - sum(g) - x_hat * sum(g * x_hat))``.
   (Seed 000 left out eps under the root and wrote the exponent of dL/dvar as -1/2.)

3. Softmax cross-entropy: with y_hat = softmax(z) and a one-hot (or any
   probability) target y, L = -sum(y log y_hat) and dL/dz = y_hat - y.
"""
from __future__ import annotations

import numpy as np


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int | str = 0,
                     dilation: int = 1) -> int:
    """Output length of a convolution or pooling along one axis.

    Args:
        padding: pixels added on each side, or Keras's 'valid' / 'same'.
    """
    if padding == "same":
        return -(-size // stride)  # ceil(size / stride)
    if padding == "valid":
        padding = 0
    k = dilation * (kernel - 1) + 1
    out = (size + 2 * padding - k) // stride + 1
    if out < 1:
        raise ValueError(f"kernel {kernel} (dilation {dilation}) does not fit in {size} pixels "
                         f"with padding {padding}")
    return out


def conv_output_shape(shape: tuple[int, int], kernel, stride=1, padding=0) -> tuple[int, int]:
    """(H, W) -> (H_out, W_out); kernel/stride/padding are ints or (h, w) pairs."""
    pair = lambda v: (v, v) if isinstance(v, (int, str)) else tuple(v)  # noqa: E731
    return tuple(conv_output_size(n, k, s, p) for n, k, s, p in
                 zip(shape, pair(kernel), pair(stride), pair(padding)))


def batchnorm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float = 1e-3):
    """Training-mode batch norm over axis 0 (features last). Returns (y, cache)."""
    mu = x.mean(axis=0)
    var = x.var(axis=0)
    inv = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mu) * inv
    return gamma * x_hat + beta, (x, x_hat, mu, var, inv, gamma)


def batchnorm_backward(g: np.ndarray, cache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dL/dx, dL/dgamma, dL/dbeta) from dL/dy, step by step as in the module docstring."""
    x, x_hat, mu, var, inv, gamma = cache
    m = x.shape[0]
    dbeta = g.sum(axis=0)
    dgamma = (g * x_hat).sum(axis=0)
    dx_hat = g * gamma
    dvar = (dx_hat * (x - mu)).sum(axis=0) * -0.5 * inv ** 3
    dmu = -dx_hat.sum(axis=0) * inv + dvar * (-2.0 * (x - mu)).mean(axis=0)
    dx = dx_hat * inv + dvar * 2.0 * (x - mu) / m + dmu / m
    return dx, dgamma, dbeta


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def cross_entropy(z: np.ndarray, y: np.ndarray) -> float:
    """Mean softmax cross-entropy of logits z (N, K) against target probabilities y (N, K)."""
    logp = z - z.max(axis=-1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(axis=-1, keepdims=True))
    return float(-(y * logp).sum(axis=-1).mean())


def cross_entropy_grad(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """d(mean cross-entropy)/dz = (softmax(z) - y) / N."""
    return (softmax(z) - y) / len(z)


def autodiff(fn, *arrays: np.ndarray) -> list[np.ndarray]:
    """Gradients of a scalar ``fn(*tensors)`` (written with ``keras.ops``) with respect to
    every argument, by the Keras backend's own autodiff: ``tf.GradientTape``, ``jax.grad``
    or ``torch.autograd``. The independent check of the derivations above.

    Float64 arrays stay float64 on TensorFlow and PyTorch; JAX computes in float32 unless
    ``JAX_ENABLE_X64`` is set, so compare with a float32 tolerance there. Eager (not
    compiled): a derivation is checked once. The same gradient ``fer_kit.vis`` uses
    (``fer_kit.backend.autodiff``).
    """
    from .backend.autodiff import value_and_grad  # slow: loads Keras, the rest is NumPy
    run = value_and_grad(lambda tensors: (fn(*tensors), None), compiled=False)
    grads, _, _ = run(list(arrays))
    return list(grads)
