"""Gradient ascent for all 64 filters of a conv layer: fer_kit's batched ``maximize`` (one
image per filter, one graph) against keras.io's way, one filter at a time, same steps.

Run:  python benchmarks/bench_ascent.py [--layer block1_conv1] [--steps 30] [--repeat 3]
The keras.io reference ("Visualizing what convnets learn") is written out below as a
user would copy it: a feature extractor, a ``@tf.function`` ascent step taking the filter
index as a Python int (so it retraces for every filter), 30 steps of lr 10 on the
L2-normalized gradient, activations 2 pixels from the border. A second loop passes the
index as a tensor (one trace), the fastest one-at-a-time variant. fer_kit's side uses one
``Explainer`` (as a notebook looping over layers would keep one). vgg_selu at full width
(64 filters in block1_conv1); the figure is the median of ``--repeat`` runs after a
warm-up. Prints the ratios; no claim is set in the issue beyond reporting them.
"""
from __future__ import annotations

import argparse

import numpy as np
from _timing import median_seconds


def keras_io_loop(model, layer_name: str, filters, steps: int, lr: float, index_as_tensor):
    """keras.io's activation maximization, one filter after another."""
    import keras
    import tensorflow as tf

    extractor = keras.Model(model.inputs, model.get_layer(layer_name).output)

    def compute_loss(img, filter_index):
        activation = extractor(img)
        return tf.reduce_mean(activation[:, 2:-2, 2:-2, filter_index])

    @tf.function
    def gradient_ascent_step(img, filter_index, learning_rate):
        with tf.GradientTape() as tape:
            tape.watch(img)
            loss = compute_loss(img, filter_index)
        grads = tf.math.l2_normalize(tape.gradient(loss, img))
        return loss, img + learning_rate * grads

    shape = (1, *model.input_shape[1:])
    images = []
    for f in filters:
        img = (tf.random.uniform(shape) - 0.5) * 0.25
        index = tf.constant(f) if index_as_tensor else f
        for _ in range(steps):
            _, img = gradient_ascent_step(img, index, lr)
        images.append(img[0].numpy())
    return np.stack(images)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--layer", default="block1_conv1")
    ap.add_argument("--width", type=float, default=1.0)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    import keras

    import fer_kit as fk

    model = fk.models.build("vgg_selu", width=args.width)
    n = model.get_layer(args.layer).filters
    filters = list(range(n))
    ex = fk.vis.Explainer(model)  # graphs and compiled step built once (in the warm-up)
    sides = {
        "fer_kit maximize, batched": lambda: ex.maximize(
            args.layer, filters, steps=args.steps, lr=10.0, jitter=0, border=2,
            progress=False, logits=False),
        "keras.io loop (int index)": lambda: keras_io_loop(
            model, args.layer, filters, args.steps, 10.0, index_as_tensor=False),
        "keras.io loop (tensor index)": lambda: keras_io_loop(
            model, args.layer, filters, args.steps, 10.0, index_as_tensor=True),
    }
    sec = {k: median_seconds(fn, args.repeat) for k, fn in sides.items()}
    print(f"gradient ascent, {n} filters of {args.layer} (vgg_selu width {args.width}), "
          f"{args.steps} steps each, backend {keras.backend.backend()}, "
          f"median of {args.repeat}:")
    for k, s in sec.items():
        print(f"  {k:30s} {s:7.2f} s")
    fast = sec["fer_kit maximize, batched"]
    for k in list(sec)[1:]:
        print(f"batched is {sec[k] / fast:.1f}x {k}")


if __name__ == "__main__":
    main()
