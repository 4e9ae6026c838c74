"""Claim: seed 003's augmentation costs at most 10% of vgg_selu's training throughput,
because the fused warp runs in tf.data alongside the training step.

Run:  python benchmarks/bench_train.py [--width 0.25] [--n 2048] [--repeat 3]
Trains vgg_selu (seed 003's Nadam recipe) with and without augmentation on the same
uint8 images, alternating the two, and prints the median training images/s of each.
Backend: whatever KERAS_BACKEND says (the tf.data pipeline feeds any backend).
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--width", type=float, default=0.25, help="0.25 = the demo profile")
    ap.add_argument("--n", type=int, default=2048)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--mixed-precision", action="store_true", help="GPUs: mixed_float16")
    args = ap.parse_args()
    import keras

    from fer_kit import models, pipeline
    from fer_kit.augment import AugmentConfig
    from fer_kit.data import synth

    if args.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
    d = synth.generate(args.n, seed=0)
    rates: dict[str, list[float]] = {"no augmentation": [], "seed 003 augmentation": []}
    nets = {}
    for name, aug in (("no augmentation", None), ("seed 003 augmentation",
                                                  AugmentConfig.seed003())):
        net = models.build("vgg_selu", width=args.width)
        net.compile(keras.optimizers.Nadam(0.002), "sparse_categorical_crossentropy")
        ds = pipeline.make_dataset(d.x, d.y, augment=aug, batch_size=args.batch, shuffle=True,
                                   seed=0, drop_remainder=True)
        net.fit(ds, epochs=1, verbose=0)  # warm-up: tracing, first-epoch allocations
        nets[name] = (net, ds)
    for _ in range(args.repeat):
        for name, (net, ds) in nets.items():
            t = time.perf_counter()
            net.fit(ds, epochs=1, verbose=0)
            rates[name].append((args.n // args.batch) * args.batch / (time.perf_counter() - t))
    med = {k: statistics.median(v) for k, v in rates.items()}
    print(f"vgg_selu width {args.width}, backend {keras.backend.backend()}, "
          f"{'mixed_float16' if args.mixed_precision else 'float32'}:")
    for k, v in med.items():
        print(f"  {k:24s} {v:8,.0f} images/s")
    cost = 1 - med["seed 003 augmentation"] / med["no augmentation"]
    print(f"augmentation cost: {cost:.1%} of throughput (median of {args.repeat}; "
          f"claim: <= 10%)")


if __name__ == "__main__":
    main()
