"""Explaining a Keras 3 model: the saliency family, sanity checks, gradient ascent, feature maps.

keras-vis, which the seed reports used, cannot run on Keras 3. This module
keeps its three calls (``visualize_saliency``, ``visualize_cam``,
``visualize_activation``) and puts a batched API underneath: many images and
target classes go through one gradient pass.

Works on any functional Keras model (any input size and channel count). The
model object you pass is never changed: softmax outputs are swapped for logits
and backprop modifiers are applied on a weight-sharing copy of the graph.

Backprop modifiers, for any element-wise activation ``y = f(z)`` with incoming
gradient ``g`` (``dL/dy``):

======================  =====================================  ==========================
modifier                gradient passed to ``z``               on ReLU it is
======================  =====================================  ==========================
``None`` (vanilla)      ``g * f'(z)``                          ``g * [z > 0]``
``'guided'``            ``max(g, 0) * f'(z)``                  guided backprop
                                                               (Springenberg et al. 2015)
``'relu'`` (deconvnet)  ``max(g, 0)``                          deconvnet (Zeiler & Fergus)
======================  =====================================  ==========================

On SELU and LeakyReLU ``f'(z) > 0`` everywhere, so 'guided' keeps only the
positive gradient signal and 'relu' additionally ignores the forward pass.
Softmax and linear activations are never modified.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd
import tensorflow as tf
from tqdm.auto import tqdm

MODIFIERS = (None, "guided", "relu")
GRAD_MODIFIERS = ("absolute", "relu", "negate", None)
_CONV_TYPES = (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D,
               keras.layers.SeparableConv2D, keras.layers.DepthwiseConv2D)
_ACT_LAYERS = (keras.layers.Activation, keras.layers.ReLU, keras.layers.LeakyReLU,
               keras.layers.ELU)
_EPS = keras.config.epsilon()


# ---- the graph: layers, logits, modifiers -----------------------------------------------
def find_layer_idx(model: keras.Model, name: str) -> int:
    """Index of the layer called ``name`` (keras-vis's ``utils.find_layer_idx``)."""
    for i, layer in enumerate(model.layers):
        if layer.name == name:
            return i
    raise ValueError(f"model {model.name!r} has no layer {name!r}; layers: "
                     f"{', '.join(l.name for l in model.layers)}")


def get_layer(model: keras.Model, layer) -> keras.layers.Layer:
    """A layer given as index, name or the layer itself."""
    if isinstance(layer, keras.layers.Layer):
        return layer
    if isinstance(layer, str):
        return model.layers[find_layer_idx(model, layer)]
    try:
        return model.layers[layer]
    except IndexError:
        raise ValueError(f"layer index {layer} out of range: model {model.name!r} has "
                         f"{len(model.layers)} layers") from None


def last_conv_layer(model: keras.Model) -> keras.layers.Layer:
    """The last convolutional layer (Grad-CAM's default)."""
    for layer in reversed(model.layers):
        if isinstance(layer, _CONV_TYPES):
            return layer
    raise ValueError(f"model {model.name!r} has no convolutional layer; give the layer")


def _is_softmax(fn) -> bool:
    return fn is keras.activations.softmax or getattr(fn, "__name__", "") == "softmax"


def _activation_fn(layer):
    """The element-wise activation a layer applies (None if none or not element-wise)."""
    if isinstance(layer, _ACT_LAYERS):
        if isinstance(layer, keras.layers.Activation) and _is_softmax(layer.activation):
            return None
        return layer
    fn = getattr(layer, "activation", None)
    if fn is None or fn is keras.activations.linear or _is_softmax(fn):
        return None
    return fn


def _modify(fn, mode):
    """``fn`` with its gradient replaced as the module docstring describes."""
    @tf.custom_gradient
    def act(z):
        with tf.GradientTape() as tape:
            tape.watch(z)
            y = fn(z)
        local = tape.gradient(y, z)  # f'(z): the activation is element-wise

        def grad(g):
            return tf.nn.relu(g) if mode == "relu" else tf.nn.relu(g) * local
        return y, grad
    return act


class _Preactivation(keras.layers.Layer):
    """Runs a layer with its activation replaced by a modified one (shares its weights)."""

    def __init__(self, inner, mode, **kwargs):
        super().__init__(name=f"{inner.name}_{mode}", **kwargs)
        self.inner, self.fn = inner, _modify(inner.activation, mode)

    def call(self, *args, **kwargs):
        saved = self.inner.activation
        self.inner.activation = keras.activations.linear
        try:
            z = self.inner.call(*args, **kwargs)
        finally:
            self.inner.activation = saved
        return self.fn(z)


class _ModifiedActivation(keras.layers.Layer):
    def __init__(self, inner, mode, **kwargs):
        super().__init__(name=f"{inner.name}_{mode}", **kwargs)
        self.fn = _modify(inner, mode)

    def call(self, x):
        return self.fn(x)


def _call(lay, args, kwargs, logits: bool, modifier):
    """Call ``lay`` in the copy: as logits if asked and it ends in softmax, else modified."""
    fn = getattr(lay, "activation", None)
    if logits and isinstance(lay, keras.layers.Softmax):
        return args[0]
    if logits and _is_softmax(fn):
        if isinstance(lay, keras.layers.Activation):
            return args[0]
        clone = lay.__class__.from_config({**lay.get_config(), "activation": "linear",
                                           "name": f"{lay.name}_logits"})
        y = clone(*args, **kwargs)
        clone.set_weights(lay.get_weights())
        return y
    if modifier is not None and _activation_fn(lay) is not None:
        wrap = _ModifiedActivation if isinstance(lay, _ACT_LAYERS) else _Preactivation
        return wrap(lay, modifier)(*args, **kwargs)
    return lay(*args, **kwargs)


def _graph(model: keras.Model, layers: list, logits: bool, modifier) -> keras.Model:
    """input -> outputs of ``layers``; the last one's softmax swapped for logits if
    ``logits``; activations modified by ``modifier``.

    The copy shares every weight with ``model``; ``model`` itself is not changed.
    """
    if modifier not in MODIFIERS:
        raise ValueError(f"backprop_modifier must be one of {MODIFIERS}, got {modifier!r}")
    if not hasattr(model, "inputs") or not model.inputs:
        raise ValueError(f"model {model.name!r} is not built: call it on data or give it an "
                         "Input first")
    want = {id(lay): i for i, lay in enumerate(layers)}
    captured = {}

    def call_function(lay, *args, **kwargs):
        y = _call(lay, args, kwargs, logits and lay is layers[-1], modifier)
        if id(lay) in want:
            captured[want[id(lay)]] = y
        return y

    clone = keras.models.clone_model(model, clone_function=lambda lay: lay,
                                     call_function=call_function)
    missing = [layers[i].name for i in range(len(layers)) if i not in captured]
    if missing:
        raise ValueError(f"layer(s) {missing} are not on the path from input to output")
    outs = [captured[i] for i in range(len(layers))]
    inputs = clone.inputs[0] if len(clone.inputs) == 1 else clone.inputs  # no structure warning
    return keras.Model(inputs, outs if len(outs) > 1 else outs[0])


_GRAPHS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def target_model(model: keras.Model, layer=-1, logits: bool = True, modifier=None) -> keras.Model:
    """The (cached) weight-sharing model from input to ``layer``'s output.

    Args:
        layer: index, name or layer (default: the output layer).
        logits: swap a softmax at that layer for its logits (keras-vis asked you to do this).
        modifier: None, 'guided' or 'relu' (see the module docstring).
    """
    layer_obj = get_layer(model, layer)
    key = (layer_obj.name, logits, modifier)
    cache = _GRAPHS.setdefault(model, {})
    if key not in cache:
        cache[key] = _graph(model, [layer_obj], logits, modifier)
    return cache[key]


# ---- scores and gradients --------------------------------------------------------------
def _as_batch(images) -> tf.Tensor:
    x = tf.convert_to_tensor(np.asarray(images, np.float32) if not tf.is_tensor(images)
                             else images)
    return tf.cast(x, tf.float32)


def _weights(targets, n: int, units: int) -> np.ndarray:
    """(N, units) weights from targets: an int, one int per image, or a list per image."""
    w = np.zeros((n, units), np.float32)
    if np.isscalar(targets):
        targets = [targets] * n
    if len(targets) != n:
        raise ValueError(f"{len(targets)} targets for {n} images")
    for i, t in enumerate(targets):
        for j in np.atleast_1d(t):
            if not 0 <= int(j) < units:
                raise ValueError(f"target {int(j)} out of range: the layer has {units} units")
            w[i, int(j)] += 1.0
    return w


def _score(out: tf.Tensor, w: tf.Tensor) -> tf.Tensor:
    """Per image: weighted sum over units of the output (conv maps: spatial mean first)."""
    if out.shape.rank > 2:
        out = tf.reduce_mean(out, axis=list(range(1, out.shape.rank - 1)))
    return tf.reduce_sum(out * w, axis=1)


def _grad_fn(graph: keras.Model):
    @tf.function(reduce_retracing=True)
    def fn(x, w):
        with tf.GradientTape() as tape:
            tape.watch(x)
            s = _score(graph(x, training=False), w)
        return tape.gradient(s, x), s
    return fn


_GRAD_FNS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def gradients(model, images, targets=None, *, layer=-1, logits=True, modifier=None,
              batch_size: int = 128):
    """d(score)/d(input) for a batch: (grads (N, H, W, C), scores (N,)).

    Args:
        images: model-ready inputs (N, H, W, C).
        targets: class (or filter) per image, one for all, lists to sum; None: the
            predicted class.
    """
    graph = target_model(model, layer, logits, modifier)
    x = _as_batch(images)
    n, units = int(x.shape[0]), int(graph.output.shape[-1])
    if targets is None:
        targets = predicted_class(model, x)
    w = _weights(targets, n, units)
    fn = _GRAD_FNS.setdefault(graph, _grad_fn(graph))
    grads, scores = [], []
    for i in range(0, n, batch_size):
        g, s = fn(x[i:i + batch_size], tf.constant(w[i:i + batch_size]))
        grads.append(g.numpy())
        scores.append(s.numpy())
    return np.concatenate(grads), np.concatenate(scores)


def predicted_class(model, images) -> np.ndarray:
    return np.asarray(model(_as_batch(images), training=False)).argmax(axis=-1)


def normalize(maps: np.ndarray) -> np.ndarray:
    """Min-max scale each map to [0, 1] (as keras-vis and tf-keras-vis do)."""
    axes = tuple(range(1, maps.ndim))
    lo, hi = maps.min(axis=axes, keepdims=True), maps.max(axis=axes, keepdims=True)
    return (maps - lo) / (hi - lo + _EPS)


def _apply_grad_modifier(g: np.ndarray, grad_modifier) -> np.ndarray:
    if callable(grad_modifier):
        return np.asarray(grad_modifier(g))
    if grad_modifier == "absolute":
        return np.abs(g)
    if grad_modifier == "relu":
        return np.maximum(g, 0)
    if grad_modifier == "negate":
        return -g
    if grad_modifier is None:
        return g
    raise ValueError(f"grad_modifier must be one of {GRAD_MODIFIERS} or a function, "
                     f"got {grad_modifier!r}")


# ---- the saliency family ---------------------------------------------------------------
def saliency(model, images, targets=None, *, layer=-1, modifier=None,
             grad_modifier="absolute", keepdims=False, normalize_map=True,
             smooth_samples: int = 0, smooth_noise: float = 0.2, seed: int = 0,
             batch_size: int = 128) -> np.ndarray:
    """Saliency maps for a batch (vanilla, guided, deconvnet; SmoothGrad with ``smooth_samples``).

    Args:
        images: model-ready inputs (N, H, W, C).
        targets: see ``gradients``.
        modifier: backprop modifier: None, 'guided' or 'relu'.
        grad_modifier: 'absolute' (default), 'relu', 'negate', None or a function.
        keepdims: keep the channel axis; else the maximum over channels.
        smooth_samples: SmoothGrad (Smilkov et al. 2017): average over this many noisy copies,
            noise sd ``smooth_noise`` times each image's value range.

    Returns:
        (N, H, W) maps, or (N, H, W, C) with ``keepdims``; in [0, 1] if ``normalize_map``.
    """
    x = np.asarray(images, np.float32)
    if targets is None:
        targets = predicted_class(model, x)
    if smooth_samples > 0:
        rng = np.random.default_rng(seed)
        axes = tuple(range(1, x.ndim))
        sigma = smooth_noise * (x.max(axis=axes, keepdims=True) - x.min(axis=axes, keepdims=True))
        total = np.zeros_like(x)
        for _ in range(smooth_samples):
            noisy = x + rng.normal(0.0, 1.0, x.shape).astype(np.float32) * sigma
            total += gradients(model, noisy, targets, layer=layer, modifier=modifier,
                               batch_size=batch_size)[0]
        g = total / smooth_samples
    else:
        g = gradients(model, x, targets, layer=layer, modifier=modifier,
                      batch_size=batch_size)[0]
    g = _apply_grad_modifier(g, grad_modifier)
    if not keepdims:
        g = g.max(axis=-1)
    return normalize(g) if normalize_map else g


def integrated_gradients(model, images, targets=None, *, baseline=None, steps: int = 32,
                         layer=-1, batch_size: int = 128) -> np.ndarray:
    """Integrated Gradients (Sundararajan et al. 2017), trapezoid rule over ``steps``.

    Attributions (N, H, W, C) sum, per image, to ``score(x) - score(baseline)``
    (completeness); ``completeness_gap`` measures how close.

    Args:
        baseline: an input of the same shape as one image, or None for zeros.
    """
    x = np.asarray(images, np.float32)
    x0 = np.zeros_like(x[:1]) if baseline is None else np.broadcast_to(
        np.asarray(baseline, np.float32), x.shape[1:])[None]
    if targets is None:
        targets = predicted_class(model, x)
    targets = [targets] * len(x) if np.isscalar(targets) else list(targets)
    alphas = np.linspace(0.0, 1.0, steps + 1, dtype=np.float32)
    weights = np.full(steps + 1, 1.0 / steps, np.float32)
    weights[[0, -1]] /= 2
    avg = np.zeros_like(x)
    for a, wt in zip(alphas, weights):
        g, _ = gradients(model, x0 + a * (x - x0), targets, layer=layer, batch_size=batch_size)
        avg += wt * g
    return (x - x0) * avg


def completeness_gap(model, images, attributions, targets, baseline=None, layer=-1) -> np.ndarray:
    """Per image: |sum(attributions) - (score(x) - score(baseline))| / |score difference|."""
    x = np.asarray(images, np.float32)
    x0 = np.zeros_like(x) if baseline is None else np.broadcast_to(
        np.asarray(baseline, np.float32), x.shape)
    graph = target_model(model, layer)
    w = tf.constant(_weights(targets, len(x), int(graph.output.shape[-1])))
    diff = (_score(graph(x, training=False), w) - _score(graph(x0, training=False), w)).numpy()
    total = attributions.reshape(len(x), -1).sum(axis=1)
    return np.abs(total - diff) / np.maximum(np.abs(diff), _EPS)


def _cam_fn(graph: keras.Model):
    @tf.function(reduce_retracing=True)
    def fn(x, w):
        with tf.GradientTape() as tape:
            tape.watch(x)
            feats, out = graph(x, training=False)
            s = _score(out, w)
        return feats, tape.gradient(s, feats), s
    return fn


_CAM_FNS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def gradcam(model, images, targets=None, *, layer=None, plus: bool = False,
            expand: bool = True, normalize_map: bool = True, batch_size: int = 128) -> np.ndarray:
    """Grad-CAM (Selvaraju et al. 2017) or Grad-CAM++ (Chattopadhay et al. 2018).

    Args:
        layer: the conv layer to explain (default: the last one, found automatically).
        plus: Grad-CAM++ weights (the exp(score) form).
        expand: upsample the maps (bilinear) to the input size.

    Returns:
        (N, H, W) maps (the layer's size if not ``expand``), ReLU applied.
    """
    conv = last_conv_layer(model) if layer is None else get_layer(model, layer)
    key = ("cam", conv.name)
    cache = _GRAPHS.setdefault(model, {})
    if key not in cache:
        cache[key] = _graph(model, [conv, model.layers[-1]], True, None)
    graph = cache[key]
    x = _as_batch(images)
    n = int(x.shape[0])
    if targets is None:
        targets = predicted_class(model, x)
    w = _weights(targets, n, int(graph.outputs[1].shape[-1]))
    fn = _CAM_FNS.setdefault(graph, _cam_fn(graph))
    cams = []
    for i in range(0, n, batch_size):
        a, g, s = fn(x[i:i + batch_size], tf.constant(w[i:i + batch_size]))
        a, g = a.numpy(), g.numpy()
        if plus:
            e = np.exp(s.numpy()).reshape(-1, 1, 1, 1)
            d1 = e * g
            d2, d3 = d1 * g, d1 * g * g
            denom = 2.0 * d2 + d3 * a.sum(axis=(1, 2), keepdims=True)
            alphas = d2 / np.where(d2 == 0.0, 1.0, denom)
            norm = alphas.sum(axis=(1, 2), keepdims=True)
            alphas = alphas / np.where(norm == 0.0, 1.0, norm)
            weights = (np.maximum(d1, 0) * alphas).sum(axis=(1, 2), keepdims=True)
        else:
            weights = g.mean(axis=(1, 2), keepdims=True)
        cams.append(np.maximum((a * weights).sum(axis=-1), 0))
    cam = np.concatenate(cams)
    if expand:
        from scipy.ndimage import zoom
        h, w_ = x.shape[1], x.shape[2]
        cam = zoom(cam, (1, h / cam.shape[1], w_ / cam.shape[2]), order=1)
    return normalize(cam) if normalize_map else cam


# ---- keras-vis's calls ---------------------------------------------------------------
def visualize_saliency(model, layer_idx, filter_indices, seed_input, wrt_tensor=None,
                       backprop_modifier=None, grad_modifier="absolute", keepdims=False):
    """keras-vis's ``visualize_saliency`` on Keras 3: one image (H, W, C) -> map (H, W) in [0, 1].

    ``filter_indices``: a class (or filter) index, or a list of them (their scores are summed).
    A softmax at ``layer_idx`` is swapped for logits for you.
    """
    if wrt_tensor is not None:
        raise NotImplementedError("wrt_tensor is not supported; saliency is taken w.r.t. "
                                  "the input")
    x = np.asarray(seed_input, np.float32)[None]
    return saliency(model, x, [filter_indices], layer=layer_idx, modifier=backprop_modifier,
                    grad_modifier=grad_modifier, keepdims=keepdims)[0]


def visualize_cam(model, layer_idx, filter_indices, seed_input, penultimate_layer_idx=None,
                  backprop_modifier=None, grad_modifier=None):
    """keras-vis's ``visualize_cam``: Grad-CAM heatmap (H, W) in [0, 1] for one image."""
    if layer_idx not in (-1, len(model.layers) - 1) or backprop_modifier or grad_modifier:
        raise NotImplementedError("visualize_cam explains the model output with vanilla "
                                  "gradients; use gradcam() for more")
    x = np.asarray(seed_input, np.float32)[None]
    return gradcam(model, x, [filter_indices], layer=penultimate_layer_idx)[0]


def visualize_activation(model, layer_idx, filter_indices=None, seed_input=None,
                         max_iter: int = 200, **kwargs) -> np.ndarray:
    """keras-vis's ``visualize_activation``: an image (H, W, C) uint8 maximizing a filter/class.

    ``filter_indices`` None: filter 0. A list: the sum of those filters.
    """
    f = 0 if filter_indices is None else filter_indices
    res = maximize(model, layer_idx, [f], steps=max_iter, init=None if seed_input is None
                   else np.asarray(seed_input, np.float32)[None], progress=False, **kwargs)
    return res.images[0]


# ---- sanity checks and scoring ---------------------------------------------------------
def _rank_corr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman rank correlation per pair of maps."""
    from scipy.stats import rankdata
    ra = rankdata(a.reshape(len(a), -1), axis=1)
    rb = rankdata(b.reshape(len(b), -1), axis=1)
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    return (ra * rb).sum(1) / np.sqrt((ra ** 2).sum(1) * (rb ** 2).sum(1) + _EPS)


METHODS = {
    "vanilla": lambda m, x, t: saliency(m, x, t),
    "guided": lambda m, x, t: saliency(m, x, t, modifier="guided"),
    "deconvnet": lambda m, x, t: saliency(m, x, t, modifier="relu"),
    "smoothgrad": lambda m, x, t: saliency(m, x, t, smooth_samples=16),
    "integrated_gradients": lambda m, x, t: normalize(np.abs(
        integrated_gradients(m, x, t, steps=16)).max(axis=-1)),
    "gradcam": lambda m, x, t: gradcam(m, x, t),
    "gradcam++": lambda m, x, t: gradcam(m, x, t, plus=True),
}


def explain(model, images, targets=None, methods=None) -> dict[str, np.ndarray]:
    """Every method's (N, H, W) maps in [0, 1], as a dict (for plots and scores)."""
    names = list(METHODS) if methods is None else list(methods)
    if targets is None:
        targets = predicted_class(model, images)
    return {name: METHODS[name](model, images, targets) for name in names}


def cascading_randomization(model, images, targets=None, methods=None, seed: int = 0,
                            progress: bool = True) -> pd.DataFrame:
    """Adebayo et al. (2018)'s cascading model-parameter randomization test.

    Re-initializes the weighted layers from the top down, one more layer each step,
    on a copy of ``model``, and compares each method's maps with the trained model's
    by Spearman rank correlation. A method whose maps stay similar does not depend
    on what the model learned.

    Returns:
        DataFrame (step, layer, method, spearman): step 0 is the trained model;
        step k has the top k weighted layers randomized.
    """
    names = list(METHODS) if methods is None else list(methods)
    x = np.asarray(images, np.float32)
    if targets is None:
        targets = predicted_class(model, x)
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    ref = explain(copy, x, targets, names)
    rows = [{"step": 0, "layer": "(trained)", "method": m, "spearman": 1.0} for m in names]
    weighted = [l for l in copy.layers if getattr(l, "kernel", None) is not None]
    rng = np.random.default_rng(seed)
    for step, lay in enumerate(tqdm(weighted[::-1], desc="randomizing", disable=not progress), 1):
        for v in lay.weights:
            std = float(np.std(v.numpy())) or 0.05
            v.assign(rng.normal(0.0, std, v.shape).astype(v.dtype))
        # the cached gradient graphs share these variables: no rebuild needed
        maps = explain(copy, x, targets, names)
        for m in names:
            rows.append({"step": step, "layer": lay.name, "method": m,
                         "spearman": float(np.nanmean(_rank_corr(ref[m], maps[m])))})
    return pd.DataFrame(rows)


def mask_share(maps: np.ndarray, masks: np.ndarray) -> pd.DataFrame:
    """Share of each map's total saliency on the ground-truth mask, next to the mask's area.

    A method that looks at the expression scores well above the area share.

    Returns:
        DataFrame per image: share, area, ratio (share / area).
    """
    maps = np.asarray(maps, np.float64).reshape(len(maps), -1)
    masks = np.asarray(masks, bool).reshape(len(masks), -1)
    if maps.shape != masks.shape:
        raise ValueError(f"maps {maps.shape} and masks {masks.shape} differ in shape")
    total = maps.sum(axis=1)
    share = np.divide((maps * masks).sum(axis=1), total, out=np.full(len(maps), np.nan),
                      where=total > 0)
    area = masks.mean(axis=1)
    return pd.DataFrame({"share": share, "area": area, "ratio": share / np.where(area > 0, area,
                                                                                  np.nan)})


# ---- gradient ascent ---------------------------------------------------------------------
@dataclass
class Ascent:
    """What ``maximize`` returns.

    Attributes:
        images: deprocessed uint8 images (F, H, W, C), one per filter.
        raw: the optimized inputs (F, H, W, C), float32.
        start: each filter's activation on its starting image.
        final: each filter's activation on its optimized image (no regularizers).
    """

    images: np.ndarray
    raw: np.ndarray
    start: np.ndarray
    final: np.ndarray


def deprocess(x: np.ndarray) -> np.ndarray:
    """keras.io's deprocessing: per image centre, scale to sd 0.15 around 0.5, clip, uint8."""
    axes = tuple(range(1, x.ndim))
    x = x - x.mean(axis=axes, keepdims=True)
    x = x / (x.std(axis=axes, keepdims=True) + 1e-5) * 0.15 + 0.5
    return (np.clip(x, 0, 1) * 255).astype(np.uint8)


def _blur(x):
    k = tf.constant([1.0, 2.0, 1.0]) / 4.0
    c = x.shape[-1]
    kernel = tf.tile(tf.reshape(k[:, None] * k[None, :], (3, 3, 1, 1)), (1, 1, c, 1))
    return tf.nn.depthwise_conv2d(x, kernel, [1, 1, 1, 1], "SAME")


_ASCENT_FNS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _ascent_fns(graph: keras.Model, border: int, jitter: bool, tv: bool):
    """(act, step) graph functions for ``maximize``, traced once per target graph and
    settings; a step rolls (jitter) and computes total variation only when asked."""
    cache = _ASCENT_FNS.setdefault(graph, {})
    key = (border, jitter, tv)
    if key in cache:
        return cache[key]
    rank = len(graph.output.shape)

    def act(img, w):
        out = graph(img, training=False)
        if rank == 4 and border > 0 and out.shape[1] > 2 * border + 1:
            out = out[:, border:-border, border:-border, :]
        return _score(out, w)

    @tf.function(reduce_retracing=True)
    def step(x, shift, w, step_size, l2, tv_weight, mid, half, lo, hi):
        with tf.GradientTape() as tape:
            tape.watch(x)
            img = tf.roll(x, shift, axis=[1, 2]) if jitter else x
            loss = act(img, w)
            loss -= l2 * tf.reduce_mean(tf.square((img - mid) / half), axis=[1, 2, 3])
            if tv:
                size = tf.cast(tf.reduce_prod(tf.shape(img)[1:]), tf.float32)
                loss -= tv_weight * tf.image.total_variation(img) / (half * size)
            total = tf.reduce_sum(loss)
        g = tape.gradient(total, x)
        g = g / (tf.norm(tf.reshape(g, (tf.shape(g)[0], -1)), axis=1)[:, None, None, None]
                 + 1e-8)
        return tf.clip_by_value(x + step_size * g, lo, hi)

    cache[key] = (tf.function(act, reduce_retracing=True), step)
    return cache[key]


def maximize(model, layer, filters, *, steps: int = 100, lr: float = 10.0, l2: float = 0.0,
             tv: float = 0.0, jitter: int = 2, blur_every: int = 0, border: int = 1,
             init=None, value_range: tuple[float, float] | None = None, seed: int = 0,
             progress: bool = True, logits: bool = True) -> Ascent:
    """Activation maximization: one image per filter (or class), all optimized in one batch.

    Each image ``f`` climbs the mean activation of ``filters[f]`` in ``layer``
    (away from a ``border`` of the map, as keras.io does), minus ``l2 * mean(x^2)``
    and ``tv * total variation``, by steps of ``lr`` along its L2-normalized
    gradient; ``jitter`` shifts the image randomly each step, ``blur_every`` blurs it.

    Args:
        layer: a conv layer (its filters) or the output layer (classes, as logits).
        filters: indices; a list inside the list sums several.
        init: starting images (F, H, W, C) or (1, H, W, C); default small noise about the
            middle of ``value_range`` (0 without one).
        value_range: (lo, hi) of the model's inputs, e.g. (0, 255) for raw pixels. The
            default start, the step and ``l2`` then scale with it as keras.io's do with
            inputs in [-1, 1] (noise about the middle, steps of ``lr * (hi - lo) / 2``,
            ``l2`` on the distance from the middle), and each step is clipped to the range,
            so the images stay images the model could be shown. None: keras.io's scale.
    """
    graph = target_model(model, layer, logits=logits)
    shape = tuple(model.input_shape[1:])
    n = len(filters)
    w = tf.constant(_weights(list(filters), n, int(graph.output.shape[-1])))
    rng = np.random.default_rng(seed)
    lo, hi = value_range if value_range is not None else (-1.0, 1.0)
    if hi <= lo:
        raise ValueError(f"value_range must be (lo, hi) with lo < hi, got {value_range}")
    mid, half = (lo + hi) / 2, (hi - lo) / 2
    if init is None:
        x0 = mid + (rng.random((n, *shape), np.float32) - 0.5) * 0.25 * half
    else:
        x0 = np.broadcast_to(np.asarray(init, np.float32), (n, *shape)).copy()
    act, step = _ascent_fns(graph, border, bool(jitter), bool(tv))
    clip = (lo, hi) if value_range is not None else (-np.inf, np.inf)
    hyper = [tf.constant(v, tf.float32) for v in (lr * half, l2, tv, mid, half, *clip)]
    x = tf.constant(x0)
    start = act(x, w).numpy()
    for i in tqdm(range(steps), desc=f"ascent {get_layer(model, layer).name}",
                  disable=not progress):
        shift = rng.integers(-jitter, jitter + 1, 2) if jitter else np.zeros(2, int)
        x = step(x, tf.constant(shift, tf.int32), w, *hyper)
        if blur_every and (i + 1) % blur_every == 0:
            x = _blur(x)
    raw = x.numpy()
    final = act(x, w).numpy()
    return Ascent(deprocess(raw), raw, start, final)


# ---- feature maps and kernels ------------------------------------------------------------
def feature_maps(model, layer, image) -> np.ndarray:
    """A layer's outputs for one model-ready image (H, W, C) -> (h, w, filters)."""
    graph = target_model(model, layer, logits=False)
    x = np.asarray(image, np.float32)
    return np.asarray(graph(x[None], training=False))[0]


def kernels(model, layer) -> np.ndarray:
    """A conv layer's kernel (kh, kw, in_channels, filters)."""
    lay = get_layer(model, layer)
    if getattr(lay, "kernel", None) is None or len(lay.kernel.shape) != 4:
        raise ValueError(f"layer {lay.name!r} has no 2-D convolution kernel")
    return lay.kernel.numpy()
