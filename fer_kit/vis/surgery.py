"""Graph surgery: a weight-sharing copy of a model, from its input to the layers asked for.

keras-vis edited the model in place (``layer.activation = linear`` and a reload) and
overrode TensorFlow's gradient registry by name. Here nothing of the user's model is
changed, not even for a moment: each layer is called again on new symbolic inputs
(``fer_kit._keras_internals.run_graph``, the walk Keras's ``clone_model`` makes with
``clone_function=lambda layer: layer``), so the copy uses the very same variables. A
model nested in the model (a transfer-learning backbone) is opened the same way: its
layers join the copy, so modifiers reach its activations and its layers can be
explained. Where a layer must act differently, a small wrapper layer runs the user's
layer's ``call`` (or a *twin*, ``fer_kit._keras_internals.linear_twin``: a shallow copy that
holds the same variable objects, with a linear activation) and adds the backward rule.

Backprop modifiers, for an element-wise activation ``y = f(z)`` with incoming
gradient ``g`` (``dL/dy``):

==================  ===========================  ========================================
modifier            gradient passed to ``z``     on ReLU it is
==================  ===========================  ========================================
``None``            ``g * f'(z)``                the plain gradient (Simonyan et al. 2014)
``'guided'``        ``max(g, 0) * f'(z)``        guided backprop (Springenberg et al. 2015)
``'deconvnet'``     ``max(g, 0)``                deconvnet (Zeiler & Fergus 2014)
==================  ===========================  ========================================

Both rules need only one custom backward step, ``max(g, 0)`` on an identity (the
*gate*): guided puts the gate after ``f`` and lets autodiff apply ``f'(z)``; deconvnet
puts it on ``z + stop_gradient(f(z) - z)``, which has ``f``'s value and a derivative of
one. On SELU and LeakyReLU ``f'(z) > 0`` everywhere, so 'guided' keeps only the
positive gradient signal and 'deconvnet' also ignores the forward pass. Softmax and
linear activations are never modified. keras-vis called deconvnet ``'relu'`` (or
'rectified'); that name lives in ``fer_kit.keras_vis`` only.
"""
from __future__ import annotations

import keras
from keras import ops

from .._keras_internals import linear_twin, run_graph
from .find import CONV_TYPES, find_layer_idx, get_layer, last_conv_layer  # noqa: F401

MODIFIERS = (None, "guided", "deconvnet")
ACTIVATION_LAYERS = (keras.layers.Activation, keras.layers.ReLU, keras.layers.LeakyReLU,
                     keras.layers.ELU, keras.layers.PReLU)


def is_softmax(fn) -> bool:
    return fn is keras.activations.softmax or getattr(fn, "__name__", "") == "softmax"


def ends_in_softmax(layer) -> bool:
    """True for a Softmax layer, Activation('softmax') or a layer with activation='softmax'."""
    return isinstance(layer, keras.layers.Softmax) or is_softmax(getattr(layer, "activation",
                                                                          None))


def has_elementwise_activation(layer) -> bool:
    """A layer a backprop modifier acts on: an activation layer (not softmax), or a layer
    with a non-linear, non-softmax ``activation``."""
    if isinstance(layer, ACTIVATION_LAYERS):
        return not (isinstance(layer, keras.layers.Activation) and is_softmax(layer.activation))
    fn = getattr(layer, "activation", None)
    return callable(fn) and fn is not keras.activations.linear and not is_softmax(fn)


# ---- the wrapper layer ----------------------------------------------------------------
@ops.custom_gradient
def _gate(x):
    """Identity forward; backward passes only the positive part of the gradient."""
    def grad(*args, upstream=None):  # TF/JAX call grad(g); torch grad(*args, upstream=g)
        g = args[0] if upstream is None else upstream
        return ops.relu(g)
    return ops.multiply(x, 1.0), grad


class _Rewired(keras.layers.Layer):
    """Runs ``inner``'s computation on its own variables, as logits or with a modifier."""

    def __init__(self, inner, mode: str):
        super().__init__(name=f"{inner.name}_{mode}", dtype=inner.dtype_policy)
        self.inner = inner  # tracked: the copy's variables are the user's
        self.mode = mode
        self._is_act_layer = isinstance(inner, ACTIVATION_LAYERS)
        object.__setattr__(self, "_linear", None if self._is_act_layer else linear_twin(inner))

    def call(self, x):
        if self.mode == "logits":  # a layer with activation='softmax'
            return self._linear.call(x)
        if self.mode == "guided":
            return _gate(self.inner.call(x))
        # deconvnet: f's value, derivative one, then the gate
        z = x if self._is_act_layer else self._linear.call(x)
        y = self.inner.call(x) if self._is_act_layer else self.inner.activation(z)
        return _gate(z + ops.stop_gradient(y - z))

    def compute_output_spec(self, x):
        return self.inner.compute_output_spec(x)


def _rewire(layer, args, kwargs, logits: bool, modifier):
    """Call ``layer`` in the copy: as logits if asked and it ends in softmax, else modified."""
    if logits and ends_in_softmax(layer):
        if isinstance(layer, (keras.layers.Softmax, keras.layers.Activation)):
            return args[0]
        return _Rewired(layer, "logits")(*args, **kwargs)
    if modifier is not None and has_elementwise_activation(layer):
        return _Rewired(layer, modifier)(*args, **kwargs)
    return layer(*args, **kwargs)


# ---- the copy -------------------------------------------------------------------------
def build_graph(model: keras.Model, taps: list, *, logits_at=None, modifier=None,
                perturb=None) -> keras.Model:
    """input(s) -> outputs of ``taps``, sharing every variable with ``model``.

    Args:
        taps: layers whose outputs the copy returns, in this order.
        logits_at: a layer whose softmax is swapped for its logits (None: none).
        modifier: None, 'guided' or 'deconvnet', applied to every element-wise activation.
        perturb: a layer whose output gets ``+ delta``, ``delta`` an extra (last) input of
            that output's shape. Fed zeros, it changes nothing, and the gradient with
            respect to it is the gradient with respect to the layer's output (Grad-CAM,
            keras-vis's ``wrt_tensor``) on every backend.
    """
    if modifier not in MODIFIERS:
        hint = " ('relu' is keras-vis's name for 'deconvnet')" if modifier == "relu" else ""
        raise ValueError(f"modifier must be one of {MODIFIERS}, got {modifier!r}{hint}")
    if not getattr(model, "built", False) or not model.inputs:
        raise ValueError(f"model {model.name!r} is not built: give it a keras.Input "
                         "(or call it once on data) before explaining it")
    want = {id(layer): i for i, layer in enumerate(taps)}
    captured = {}
    deltas = [] if perturb is None else [
        keras.Input(tuple(perturb.output.shape[1:]), name=f"{perturb.name}_delta")]

    def call_function(layer, *args, **kwargs):
        if isinstance(layer, keras.Model):  # a nested model: its layers join this graph, so
            # modifiers reach its activations and its layers can be taps (``training`` and
            # other call arguments of the nested call are dropped: explaining is inference)
            y = run_graph(layer, args[0], call_function)
        else:
            y = _rewire(layer, args, kwargs, layer is logits_at, modifier)
        if id(layer) in want:
            captured[want[id(layer)]] = y
        if layer is perturb:  # a named layer: an operator's default name may clash
            return keras.layers.Add(name=f"{layer.name}_plus_delta")([y, deltas[0]])
        return y

    inputs = [keras.Input(batch_shape=t.shape, dtype=t.dtype, name=f"{model.name}_input{i}")
              for i, t in enumerate(model.inputs)]
    run_graph(model, inputs, call_function)
    missing = [taps[i].name for i in range(len(taps)) if i not in captured]
    if missing:
        raise ValueError(f"layer(s) {missing} are not on the path from input to output of "
                         f"model {model.name!r}")
    outs, ins = [captured[i] for i in range(len(taps))], inputs + deltas
    return keras.Model(ins[0] if len(ins) == 1 else ins, outs[0] if len(outs) == 1 else outs,
                       name=f"{model.name}_explained")
