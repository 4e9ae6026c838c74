"""Claim: seed 003's augmentation costs at most 10% of vgg_selu's training throughput on
this CPU, where the fused warp runs in tf.data alongside the training step (with
``--model-side``, inside the model as ``fk.train.fit`` does; on an H100 under JAX that
cost 24%, README).

Run:  python benchmarks/bench_train.py [--width 0.25] [--n 4096] [--repeat 5]
      KERAS_BACKEND=jax python benchmarks/bench_train.py --width 1 --n 16384 --model-side \
          --mixed-precision bfloat16   # a GPU, with or without TensorFlow installed
Trains vgg_selu (seed 003's Nadam recipe) with and without augmentation on the same
images, alternating them, and prints the median training images/s of each. A second,
unaugmented model trains in the same rounds as a control: the gap between the two
unaugmented models is this run's noise floor (on this shared 2-core machine epochs swing
by 15-30%, and under PyTorch one model instance of the same architecture can step twice
as slowly as another in the same process, flushing denormals or not: README). With
``--model-side`` the augmentation layer is also timed alone on one batch, as a share of
an unaugmented training step.
Backend: whatever KERAS_BACKEND says. Without TensorFlow, --model-side is implied: the
augmentation is fer_kit's RandomAffine layer and the images come as NumPy arrays. Under
KERAS_BACKEND=torch (model side) a third row trains with Keras's own
``ops.image.affine_transform`` instead of fer_kit's grid_sample warp, in the same run:
what the augmentation cost before that path existed.
"""
from __future__ import annotations

import argparse
import functools
import importlib.util
import statistics
import time


KERAS_WARP = "seed 003, Keras's affine_transform"
CONTROL = "no augmentation, a second model"


def _keras_warp_layer():
    """fer_kit's RandomAffine with its PyTorch fast path turned off (what it was before)."""
    from fer_kit import augment
    from fer_kit.backend import warp

    class KerasWarp(augment.RandomAffine):
        def call(self, images, training=None):
            saved, warp._TORCH_PADDING = warp._TORCH_PADDING, {}
            try:
                return super().call(images, training)
            finally:
                warp._TORCH_PADDING = saved
    return KerasWarp


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--width", type=float, default=0.25, help="0.25 = the demo profile")
    ap.add_argument("--n", type=int, default=4096)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--mixed-precision", default="auto",
                    help="auto (bfloat16 on a GPU, float32 on a CPU), bfloat16, float16, float32")
    ap.add_argument("--model-side", action="store_true",
                    help="augment inside the model (RandomAffine) on NumPy input, not in tf.data")
    args = ap.parse_args()
    import keras
    model_side = (args.model_side or importlib.util.find_spec("tensorflow") is None
                  or keras.backend.backend() != "tensorflow")

    from fer_kit import models, train
    from fer_kit.augment import AugmentConfig
    from fer_kit.data import synth
    keras_warp = _keras_warp_layer()

    policy = train.precision_policy(args.mixed_precision)
    if policy:
        keras.mixed_precision.set_global_policy(policy)
    d = synth.generate(args.n, seed=0)
    n = (args.n // args.batch) * args.batch
    x, y = d.x[:n], d.y[:n]  # uint8, as fk.train.fit feeds them
    # the control trains a second copy of the unaugmented model: the two should run at the
    # same speed, so their difference in this run is the measurement's own noise floor
    variants = [("no augmentation", None), ("seed 003 augmentation", AugmentConfig.seed003()),
                (CONTROL, None)]
    if keras.backend.backend() == "torch":
        variants.append((KERAS_WARP, AugmentConfig.seed003()))
    rates: dict[str, list[float]] = {name: [] for name, _ in variants}
    runs = {}
    layers = {}
    for name, aug in variants:
        net = models.build("vgg_selu", width=args.width)
        if model_side:
            if aug is not None:
                inputs = keras.Input(net.input_shape[1:])
                layer = aug.to_layer(seed=0)
                if name == KERAS_WARP:
                    layer = keras_warp(aug, seed=0, dtype="float32")
                layers[name] = layer
                net = keras.Model(inputs, net(layer(inputs)))
            fit = functools.partial(net.fit, x, y, batch_size=args.batch, epochs=1,
                                    verbose=0, shuffle=True)
        else:
            import tf_pipeline as pipeline  # benchmarks/tf_pipeline.py (TensorFlow only)
            ds = pipeline.make_dataset(d.x[:n], y, augment=aug, batch_size=args.batch,
                                       shuffle=True, seed=0, drop_remainder=True)
            fit = functools.partial(net.fit, ds, epochs=1, verbose=0)
        train.compile_model(net, "keras_vgg")  # as fit compiles (steps per execution too)
        fit()  # warm-up: tracing/compilation, first-epoch allocations
        runs[name] = fit
    for _ in range(args.repeat):
        for name, fit in runs.items():
            t = time.perf_counter()
            fit()
            rates[name].append(n / (time.perf_counter() - t))
    med = {k: statistics.median(v) for k, v in rates.items()}
    print(f"vgg_selu width {args.width}, backend {keras.backend.backend()}, "
          f"{policy or 'float32'}, augmentation "
          f"{'in the model' if model_side else 'in tf.data'}, batch {args.batch}:")
    for k, v in med.items():
        print(f"  {k:40s} {v:8,.0f} images/s")
    cost = 1 - med["seed 003 augmentation"] / med["no augmentation"]
    # each round trains the variants back to back: the ratio within a round cancels the
    # machine's drift between rounds (epochs swing by 15-30% on a shared CPU)
    paired = statistics.median(1 - a / b for a, b in zip(rates["seed 003 augmentation"],
                                                          rates["no augmentation"]))
    print(f"augmentation cost: {cost:.1%} of throughput (ratio of medians of {args.repeat}); "
          f"{paired:.1%} (median of the {args.repeat} rounds' own ratios); claim: <= 10%")
    if KERAS_WARP in med:
        print(f"with Keras's affine_transform instead: "
              f"{1 - med[KERAS_WARP] / med['no augmentation']:.1%}")
    floor = statistics.median(abs(1 - a / b) for a, b in zip(rates[CONTROL],
                                                             rates["no augmentation"]))
    print(f"the same unaugmented model twice: {1 - med[CONTROL] / med['no augmentation']:+.1%} "
          f"apart (ratio of medians); {floor:.1%} (median of the rounds' absolute gaps): "
          "differences below this are this machine's noise, not the augmentation")
    step = args.batch / med["no augmentation"]
    xb = keras.ops.convert_to_tensor(x[:args.batch])
    for name, layer in layers.items():  # each augmentation layer alone, in training mode
        for _ in range(3):
            layer(xb, training=True)
        times = []
        for _ in range(20):
            t = time.perf_counter()
            keras.ops.convert_to_numpy(layer(xb, training=True))
            times.append(time.perf_counter() - t)
        alone = statistics.median(times)
        print(f"{name}, the layer alone: {alone * 1e3:.1f} ms per batch of {args.batch} "
              f"(median of 20), {alone / step:.1%} of an unaugmented training step "
              f"({step * 1e3:.0f} ms)")


if __name__ == "__main__":
    main()
