"""The backend seam: one small gradient function per backend, everything else in ``keras.ops``.

``value_and_grad(fn, variables)`` compiles ``fn(inputs, *args) -> (score (N,), aux)``
into ``run(inputs, *args) -> (d sum(score) / d inputs, score, aux)`` as NumPy arrays;
``forward(fn, variables)`` compiles a function with no gradient. ``variables`` are the
model variables ``fn`` reads: TensorFlow captures them by reference, JAX is handed their
current values at every call (so a compiled function sees a training step or a
re-initialized layer on every backend), torch reads them eagerly.

TensorFlow: ``tf.GradientTape`` in a ``tf.function``. JAX: ``jax.grad`` of the summed
score, jitted, with the variables' values mapped in by ``keras.StatelessScope``. torch:
``torch.autograd.grad``, eager (written to the same contract; not exercised by the tests,
torch is not installed where they run).
"""
from __future__ import annotations

import logging

import keras
import numpy as np
from keras import ops


def score(out, weights):
    """Per image: the weighted sum over units of a layer's output (N, units) -> (N,).

    A conv output (N, h, w, filters) is averaged over its spatial axes first, so a
    filter's score is its mean activation (keras-vis's ActivationMaximization).
    """
    if len(out.shape) > 2:
        out = ops.mean(out, axis=tuple(range(1, len(out.shape) - 1)))
    return ops.sum(out * weights, axis=1)


def _numpy(tree):
    if isinstance(tree, (list, tuple)):
        return type(tree)(_numpy(t) for t in tree)
    if tree is None:
        return None
    return np.asarray(ops.convert_to_numpy(tree))


def value_and_grad(fn, variables):
    """Compile ``fn`` for the active Keras backend (see the module docstring)."""
    return _BACKENDS[keras.backend.backend()][0](fn, list(variables))


def forward(fn, variables):
    """Compile ``fn(inputs, *args) -> outputs`` (no gradient) for the active backend."""
    return _BACKENDS[keras.backend.backend()][1](fn, list(variables))


# ---- TensorFlow ---------------------------------------------------------------------------
class _OwnRetracing(logging.Filter):
    """Drops TensorFlow's "triggered tf.function retracing" warning about this module's
    functions: each Explainer compiles its own (one per graph, once), which TensorFlow
    counts as one function retraced. Other functions' warnings pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        return not ("retracing" in msg and ("_tf_grad.<locals>" in msg
                                            or "_tf_forward.<locals>" in msg))


def _quiet_retracing() -> None:
    logger = logging.getLogger("tensorflow")
    if not any(isinstance(f, _OwnRetracing) for f in logger.filters):
        logger.addFilter(_OwnRetracing())


def _tf_grad(fn, variables):
    import tensorflow as tf
    _quiet_retracing()

    @tf.function(reduce_retracing=True)
    def run(inputs, *args):
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            s, aux = fn(inputs, *args)
        return tape.gradient(s, inputs), s, aux

    return lambda inputs, *args: _numpy(run([tf.convert_to_tensor(i) for i in inputs],
                                            *[tf.convert_to_tensor(a) for a in args]))


def _tf_forward(fn, variables):
    import tensorflow as tf
    _quiet_retracing()
    run = tf.function(fn, reduce_retracing=True)
    return lambda inputs, *args: _numpy(run([tf.convert_to_tensor(i) for i in inputs],
                                            *[tf.convert_to_tensor(a) for a in args]))


# ---- JAX ---------------------------------------------------------------------------------
def _stateless(fn, variables):
    def pure(values, inputs, *args):
        with keras.StatelessScope(state_mapping=list(zip(variables, values))):
            return fn(inputs, *args)
    return pure


def _jax_grad(fn, variables):
    import jax
    import jax.numpy as jnp
    pure = _stateless(fn, variables)

    def total(inputs, values, *args):
        s, aux = pure(values, inputs, *args)
        return jnp.sum(s), (s, aux)

    run = jax.jit(jax.grad(total, has_aux=True))

    def call(inputs, *args):
        grads, (s, aux) = run([jnp.asarray(i) for i in inputs], [v.value for v in variables],
                              *[jnp.asarray(a) for a in args])
        return _numpy((grads, s, aux))
    return call


def _jax_forward(fn, variables):
    import jax
    import jax.numpy as jnp
    run = jax.jit(_stateless(fn, variables))
    return lambda inputs, *args: _numpy(run([v.value for v in variables],
                                            [jnp.asarray(i) for i in inputs],
                                            *[jnp.asarray(a) for a in args]))


# ---- torch ---------------------------------------------------------------------------------
def _torch_grad(fn, variables):
    import torch

    def call(inputs, *args):
        xs = [ops.convert_to_tensor(i).detach().requires_grad_(True) for i in inputs]
        s, aux = fn(xs, *[ops.convert_to_tensor(a) for a in args])
        grads = torch.autograd.grad(s.sum(), xs)
        return _numpy((list(grads), s.detach(), aux if aux is None else
                       type(aux)(a.detach() for a in aux) if isinstance(aux, (list, tuple))
                       else aux.detach()))
    return call


def _torch_forward(fn, variables):
    import torch

    def call(inputs, *args):
        with torch.no_grad():
            return _numpy(fn([ops.convert_to_tensor(i) for i in inputs],
                             *[ops.convert_to_tensor(a) for a in args]))
    return call


_BACKENDS = {"tensorflow": (_tf_grad, _tf_forward), "jax": (_jax_grad, _jax_forward),
             "torch": (_torch_grad, _torch_forward)}
