"""Claim: fer_kit's batched saliency maps for 256 images run at least 2x faster than the
same maps made one image at a time (keras-vis's visualize_saliency in a loop, as the
seeds' homework code does: ``fer_kit.keras_vis``, which like keras-vis builds its graph
on every call), and no slower than tf-keras-vis on the same batch. A third side loops
over images with one ``Explainer`` (graph built once), to separate the two costs.

Run:  python benchmarks/bench_saliency.py [--n 256] [--width 0.25] [--repeat 3]
vgg_selu at the demo width (weights do not change the cost), softmax swapped for logits
on every side, one target class per image, vanilla and guided backprop. Each figure is
the median of ``--repeat`` timed calls after one warm-up call (graph tracing).
"""
from __future__ import annotations

import argparse

from _timing import median_seconds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--width", type=float, default=0.25)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    import fer_kit as fk
    from fer_kit.data import synth
    from fer_kit.keras_vis.visualization import visualize_saliency

    model = fk.models.build("vgg_selu", width=args.width)
    d = synth.generate(args.n, seed=0)
    x, t = d.x.astype("float32"), d.y

    sides = {}
    ex = fk.vis.Explainer(model)
    for modifier in (None, "guided"):
        label = modifier or "vanilla"
        sides[(label, "fer_kit batched")] = lambda m=modifier: ex.saliency(x, t, modifier=m)
        sides[(label, "keras_vis per-image loop")] = lambda m=modifier: [
            visualize_saliency(model, -1, int(c), img, backprop_modifier=m)
            for img, c in zip(x, t)]
        sides[(label, "Explainer per-image loop")] = lambda m=modifier: [
            ex.saliency(img[None], int(c), modifier=m) for img, c in zip(x, t)]
    try:
        from tf_keras_vis.saliency import Saliency
        from tf_keras_vis.utils.model_modifiers import ReplaceToLinear
        from tf_keras_vis.utils.scores import CategoricalScore
        score = CategoricalScore(list(t))
        vanilla = Saliency(model, model_modifier=ReplaceToLinear(), clone=True)
        # tf-keras-vis's guided modifier rewrites ReLU layers; vgg_selu has none, so its
        # guided pass costs what a vanilla one does: time the vanilla one only.
        sides[("vanilla", "tf-keras-vis")] = lambda: vanilla(score, x)
    except ImportError:
        print("tf-keras-vis is not installed (pip install tf-keras-vis): skipping it")

    sec = {k: median_seconds(fn, args.repeat) for k, fn in sides.items()}
    print(f"saliency maps for {args.n} images, vgg_selu width {args.width} "
          f"(median of {args.repeat}):")
    for (method, side), s in sec.items():
        print(f"  {method:8s} {side:26s} {s:7.2f} s  {args.n / s:8,.0f} images/s")
    for method in ("vanilla", "guided"):
        fast = sec[(method, "fer_kit batched")]
        print(f"{method}: batched is {sec[(method, 'keras_vis per-image loop')] / fast:.1f}x the "
              f"keras_vis per-image loop (claim: >= 2x), "
              f"{sec[(method, 'Explainer per-image loop')] / fast:.1f}x the Explainer loop")
    if ("vanilla", "tf-keras-vis") in sec:
        ratio = sec[("vanilla", "tf-keras-vis")] / sec[("vanilla", "fer_kit batched")]
        print(f"vanilla: batched is {ratio:.2f}x tf-keras-vis's speed (claim: >= 1x)")


if __name__ == "__main__":
    main()
