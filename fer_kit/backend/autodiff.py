"""Gradients by the running backend's own autodiff: one function per backend, one contract.

``value_and_grad(fn, variables)`` turns ``fn(inputs, *args) -> (score, aux)`` (written
with ``keras.ops``; ``inputs`` a list of tensors, ``score`` of shape (N,) or a scalar)
into ``run(inputs, *args) -> (d sum(score) / d inputs, score, aux)`` on NumPy arrays;
``forward(fn, variables)`` does the same without a gradient. Keras has no
backend-independent gradient (``keras.ops`` stops at the forward pass), so this is the
one seam where each backend is called by name:

* TensorFlow: ``tf.GradientTape``, in a ``tf.function`` when compiled;
* JAX: ``jax.grad`` of the summed score, jitted when compiled; the model variables ``fn``
  reads are handed in by value at every call through ``keras.StatelessScope``, so a
  compiled function sees a training step or a re-initialized layer, as TensorFlow (which
  captures them by reference) and torch (eager) do;
* torch: ``torch.autograd.grad``, always eager.

``fer_kit.vis`` compiles once per graph and calls many times (``compiled=True``);
``fer_kit.theory`` checks a derivation once, eagerly (``compiled=False``), where tracing
would cost more than it saves. Float64 inputs stay float64 on TensorFlow and torch;
JAX computes in float32 unless ``JAX_ENABLE_X64`` is set.
"""
from __future__ import annotations

import logging
from typing import Callable, Sequence

import keras
import numpy as np
from keras import ops

from .selection import name


def value_and_grad(fn: Callable, variables: Sequence = (), compiled: bool = True) -> Callable:
    """``run(inputs, *args) -> (grads, score, aux)``: ``fn`` differentiated by the backend.

    Args:
        fn: ``fn(inputs, *args) -> (score, aux)``; ``inputs`` is the list differentiated.
        variables: the Keras variables ``fn`` reads (JAX needs them to stay current).
        compiled: trace once (``tf.function``, ``jax.jit``) for many calls; False: eager.

    Returns:
        ``run``; its grads are a list like ``inputs``, everything NumPy.

    Raises:
        NotImplementedError: a Keras backend with no autodiff here (numpy, openvino).
    """
    return _pick(0)(fn, list(variables), compiled)


def forward(fn: Callable, variables: Sequence = (), compiled: bool = True) -> Callable:
    """``run(inputs, *args) -> fn(inputs, *args)`` as NumPy, compiled, with no gradient."""
    return _pick(1)(fn, list(variables), compiled)


def _pick(which: int):
    backend = name()
    if backend not in _BACKENDS:
        raise NotImplementedError(f"no autodiff for the {backend} backend "
                                  f"(fer_kit has one for {', '.join(_BACKENDS)})")
    return _BACKENDS[backend][which]


def _numpy(tree):
    if isinstance(tree, (list, tuple)):
        return type(tree)(_numpy(t) for t in tree)
    if tree is None:
        return None
    return np.asarray(ops.convert_to_numpy(tree))


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


def _tf_grad(fn, variables, compiled):
    import tensorflow as tf  # optional: only the running backend is importable

    def grad(inputs, *args):
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            s, aux = fn(inputs, *args)
        return tape.gradient(s, inputs), s, aux

    if compiled:
        _quiet_retracing()
        grad = tf.function(grad, reduce_retracing=True)
    return lambda inputs, *args: _numpy(grad([tf.convert_to_tensor(i) for i in inputs],
                                             *[tf.convert_to_tensor(a) for a in args]))


def _tf_forward(fn, variables, compiled):
    import tensorflow as tf  # optional: only the running backend is importable
    if compiled:
        _quiet_retracing()
        fn = tf.function(fn, reduce_retracing=True)
    return lambda inputs, *args: _numpy(fn([tf.convert_to_tensor(i) for i in inputs],
                                           *[tf.convert_to_tensor(a) for a in args]))


# ---- JAX ---------------------------------------------------------------------------------
def _stateless(fn, variables):
    """``fn`` as a pure function of the variables' values (the first argument)."""
    if not variables:  # nothing to map in: fn as it is
        return lambda values, inputs, *args: fn(inputs, *args)

    def pure(values, inputs, *args):
        with keras.StatelessScope(state_mapping=list(zip(variables, values))):
            return fn(inputs, *args)
    return pure


def _jax_grad(fn, variables, compiled):
    import jax  # optional: only the running backend is importable
    import jax.numpy as jnp  # (with jax)
    pure = _stateless(fn, variables)

    def total(inputs, values, *args):
        s, aux = pure(values, inputs, *args)
        return jnp.sum(s), (s, aux)

    run = jax.grad(total, has_aux=True)
    run = jax.jit(run) if compiled else run

    def call(inputs, *args):
        grads, (s, aux) = run([jnp.asarray(i) for i in inputs], [v.value for v in variables],
                              *[jnp.asarray(a) for a in args])
        return _numpy((grads, s, aux))
    return call


def _jax_forward(fn, variables, compiled):
    import jax  # optional: only the running backend is importable
    import jax.numpy as jnp  # (with jax)
    run = _stateless(fn, variables)
    run = jax.jit(run) if compiled else run
    return lambda inputs, *args: _numpy(run([v.value for v in variables],
                                            [jnp.asarray(i) for i in inputs],
                                            *[jnp.asarray(a) for a in args]))


# ---- torch (eager: compiling would cost more than one explanation's calls) ----------------
def _detach(tree):
    if isinstance(tree, (list, tuple)):
        return type(tree)(_detach(t) for t in tree)
    return None if tree is None else tree.detach()


def _torch_grad(fn, variables, compiled):
    import torch  # optional: only the running backend is importable

    def call(inputs, *args):
        xs = [ops.convert_to_tensor(i).detach().requires_grad_(True) for i in inputs]
        s, aux = fn(xs, *[ops.convert_to_tensor(a) for a in args])
        grads = torch.autograd.grad(s.sum(), xs)
        return _numpy((list(grads), s.detach(), _detach(aux)))
    return call


def _torch_forward(fn, variables, compiled):
    import torch  # optional: only the running backend is importable

    def call(inputs, *args):
        with torch.no_grad():
            return _numpy(fn([ops.convert_to_tensor(i) for i in inputs],
                             *[ops.convert_to_tensor(a) for a in args]))
    return call


_BACKENDS = {"tensorflow": (_tf_grad, _tf_forward), "jax": (_jax_grad, _jax_forward),
             "torch": (_torch_grad, _torch_forward)}
