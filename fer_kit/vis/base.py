"""The part of ``Explainer`` the techniques use: a model's weight-sharing graphs, its
compiled gradient and forward functions, scores and gradients.

tf-keras-vis's layout: one small base class, one technique a module. The technique
modules (``backprop``, ``attribution``, ``cam``, ``ascent``, ``features``, ``sanity``)
import this module; ``fer_kit.vis.explainer`` imports them and adds one method per
technique to make the public ``Explainer``. Imports run one way: base -> techniques ->
explainer.

A graph is built once per (layers, logits, modifier) and its function compiled once,
on first use, and both live on the object: no module-level cache, nothing kept alive
after the object goes. Because the graphs share the model's variables, a training step
or a re-initialized layer shows in the next call.
"""
from __future__ import annotations

import keras
import numpy as np

from . import autodiff, find, surgery


class ExplainerBase:
    """Graphs and gradient functions for explaining ``model`` (which is never changed).

    Args:
        model: a built Keras model (functional or Sequential), any input size; its first
            layers may be preprocessing (Rescaling, Normalization): gradients are then
            with respect to the raw input it takes.
    """

    def __init__(self, model: keras.Model):
        if isinstance(model, ExplainerBase):
            model = model.model
        if not getattr(model, "built", False) or not model.inputs:
            raise ValueError(f"model {model.name!r} is not built: give it a keras.Input "
                             "(or call it once on data) before explaining it")
        self.model = model
        self._graphs: dict = {}
        self._fns: dict = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model.name!r}, {len(self._graphs)} graphs built)"

    # ---- graphs ---------------------------------------------------------------------------
    def layer(self, layer) -> keras.layers.Layer:
        """A layer of the model given as index, name, path ('backbone/conv_b') or the layer;
        layers inside nested models are found too (``fer_kit.vis.find``)."""
        return find.get_layer(self.model, layer)

    def graph(self, layer=-1, *, logits: bool = True, modifier=None, wrt=None) -> keras.Model:
        """The weight-sharing model from the input to ``layer``'s output.

        Args:
            layer: index, name, path or layer (default: the output layer); a nested
                model's softmax output is read as logits too.
            logits: swap a softmax at ``layer`` for its logits.
            modifier: None, 'guided' or 'deconvnet' (``fer_kit.vis.surgery``).
            wrt: a layer: the graph outputs [wrt's output, layer's output] and takes an
                extra zero input added to wrt's output (see ``surgery.build_graph``).
        """
        target = self.layer(layer)
        wrt_layer = None if wrt is None else self.layer(wrt)
        # layers by identity: two nested models may hold layers of the same name
        key = (id(target), logits, modifier, None if wrt_layer is None else id(wrt_layer))
        if key not in self._graphs:
            taps = [target] if wrt_layer is None else [wrt_layer, target]
            self._graphs[key] = surgery.build_graph(
                self.model, taps, logits_at=find.output_layer(target) if logits else None,
                modifier=modifier, perturb=wrt_layer)
        return self._graphs[key]

    def compiled(self, kind: str, graph_key: tuple, make):
        """The function ``make()`` returns, made once per (kind, graph_key) and kept here
        (the techniques' compiled gradient and forward functions)."""
        key = (kind, *graph_key)
        if key not in self._fns:
            self._fns[key] = make()
        return self._fns[key]

    # ---- scores and gradients -------------------------------------------------------------
    def weights(self, targets, n: int, units: int) -> np.ndarray:
        """(N, units) score weights: one target for all, one per image, or a list per image
        (their scores are summed)."""
        w = np.zeros((n, units), np.float32)
        if np.isscalar(targets) or np.ndim(targets) == 0:
            targets = [targets] * n
        if len(targets) != n:
            raise ValueError(f"{len(targets)} targets for {n} images")
        for i, t in enumerate(targets):
            for j in np.atleast_1d(t):
                if not 0 <= int(j) < units:
                    raise ValueError(f"target {int(j)} out of range: the layer has {units} "
                                     "units")
                w[i, int(j)] += 1.0
        return w

    def predict(self, images, layer=-1, *, logits: bool = False,
                batch_size: int = 128) -> np.ndarray:
        """``layer``'s outputs for a batch (the model's probabilities by default)."""
        graph = self.graph(layer, logits=logits)
        fn = self.compiled("forward", (id(graph),), lambda: autodiff.forward(
            lambda inputs: _single(graph(inputs[0], training=False)), graph.variables))
        x = _as_batch(images)
        return np.concatenate([fn([x[i:i + batch_size]]) for i in range(0, len(x), batch_size)])

    def predicted_class(self, images) -> np.ndarray:
        """The model's top class per image."""
        return self.predict(images).argmax(axis=-1)

    def gradients(self, images, targets=None, *, layer=-1, logits: bool = True, modifier=None,
                  wrt=None, weights=None, batch_size: int = 128):
        """d(score)/d(input), or d(score)/d(``wrt``'s output), for a batch.

        Args:
            images: model-ready inputs (N, H, W, C).
            targets: class (or filter) per image, one for all, lists to sum; None: the
                predicted class.
            layer: whose output is scored (default the output layer, as logits).
            wrt: None (the input) or a layer.
            weights: (N, units) score weights, instead of ``targets``.

        Returns:
            (grads, scores): grads (N, H, W, C), or ``wrt``'s output shape; scores (N,).
            With ``wrt``, (activations, grads, scores).
        """
        x = _as_batch(images)
        graph = self.graph(layer, logits=logits, modifier=modifier, wrt=wrt)
        units = int(graph.outputs[-1].shape[-1])
        if weights is not None:
            w = np.asarray(weights, np.float32)
            if w.shape != (len(x), units):
                raise ValueError(f"weights of shape {w.shape}, expected {(len(x), units)}")
        else:
            w = self.weights(self.predicted_class(x) if targets is None else targets, len(x),
                             units)
        if wrt is None:
            fn = self.compiled("grad", (id(graph),), lambda: autodiff.value_and_grad(
                lambda inputs, w: (autodiff.score(_single(graph(inputs[0], training=False)), w),
                                   None),
                graph.variables))
        else:
            fn = self.compiled("grad_wrt", (id(graph),), lambda: autodiff.value_and_grad(
                lambda inputs, w: _score_with_acts(graph(inputs, training=False), w),
                graph.variables))
        parts = []
        for i in range(0, len(x), batch_size):
            xb, wb = x[i:i + batch_size], w[i:i + batch_size]
            if wrt is None:
                (g,), s, _ = fn([xb], wb)
                parts.append((g, s))
            else:
                delta = np.zeros((len(xb), *graph.inputs[-1].shape[1:]), np.float32)
                (_, g), s, acts = fn([xb, delta], wb)
                parts.append((acts, g, s))
        return tuple(np.concatenate(p) for p in zip(*parts))


def _single(outs):
    """A one-output graph's output (Keras returns a list of one for outputs=[y])."""
    return outs[0] if isinstance(outs, (list, tuple)) else outs


def _score_with_acts(outs, w):
    acts, out = outs
    return autodiff.score(out, w), acts


def _as_batch(images) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(images) if not isinstance(images, np.ndarray)
                      else images, np.float32)


def as_base(model) -> ExplainerBase:
    """``model`` itself if it is an Explainer (its graphs are reused), else a one-off
    ``ExplainerBase`` (the techniques' entry point for a plain Keras model)."""
    return model if isinstance(model, ExplainerBase) else ExplainerBase(model)
