"""Seed 003's ablation at the full profile, for a GPU: vgg_selu at full width on full-size
SynthFER with seed 003's recipe, one fresh model per configuration of
``fk.ablation.CONFIGS`` (baseline, augmentation, featurewise, samplewise,
samplewise+featurewise, flip doubling).

Run:  KERAS_BACKEND=jax python benchmarks/full_recipe.py [--configs baseline,augmentation]
      python benchmarks/full_recipe.py --profile smoke --max-epochs 1   # a quick CPU try

Backend-neutral, so it runs where TensorFlow is not installed (a JAX-only GPU machine):
the data handling that ``fk.train.fit`` does in tf.data is done in the model instead,
with the same fer_kit pieces: RandomAffine for the augmentation, then the fitted
normalizer's Keras layer (rescale 1/255, then any standardization), in the pipeline's
order; images go in as NumPy arrays. Prints one row per configuration: epochs run
(EarlyStopping on val_loss, best weights restored), seconds, training images/s and
val/public/private accuracy; writes full_recipe_seed<seed>.csv to --out.
"""
from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default="full")
    ap.add_argument("--model", default="vgg_selu")
    ap.add_argument("--configs", default="all", help="comma-separated names, or all")
    ap.add_argument("--max-epochs", type=int, default=None, help="cap the recipe's epochs")
    ap.add_argument("--mixed-precision", action="store_true")
    ap.add_argument("--rescale", default="recipe",
                    help="'recipe' (1/255), 'none' (raw 0-255 pixels) or a number")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=".")
    args = ap.parse_args()
    import keras
    import pandas as pd

    import fer_kit as fk
    from fer_kit import models
    from fer_kit.ablation import CONFIGS
    from fer_kit.data.split import flip_double, train_val_split
    from fer_kit.preprocess import make_normalizer
    from fer_kit.train import RECIPES

    prof = fk.get_profile(args.profile)
    base = RECIPES["seed003"].scaled(prof)
    if args.max_epochs:
        base = replace(base, epochs=min(base.epochs, args.max_epochs))
    if args.rescale != "recipe":
        base = replace(base, rescale=None if args.rescale == "none" else float(args.rescale))
    if args.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
    names = list(CONFIGS) if args.configs == "all" else args.configs.split(",")
    data = fk.data.load(profile=prof.name, seed=args.seed)
    pool, val = train_val_split(data.train, base.val_fraction, seed=args.seed)
    tests = {"val": val, "public": data.public, "private": data.private}
    print(f"{data.name}: {len(pool)} train / {len(val)} val / {len(data.public)} public / "
          f"{len(data.private)} private; {args.model} width {prof.width}; backend "
          f"{keras.backend.backend()}; {keras.mixed_precision.global_policy().name}; "
          f"recipe {base.name}: {base.optimizer} {base.learning_rate}, batch {base.batch_size}, "
          f"<= {base.epochs} epochs, patience {base.patience}, rescale {base.rescale}",
          flush=True)
    rows = []
    for name in names:
        rec = replace(base, **CONFIGS[name])
        tr = flip_double(pool) if rec.flip_double else pool
        norm = make_normalizer(rec.normalization, rec.rescale)
        if norm is not None:
            norm.fit(tr.x)
        keras.utils.set_random_seed(args.seed)
        net = models.build(args.model, width=prof.width)
        inputs = keras.Input(net.input_shape[1:], name="pixels")
        h = inputs
        if rec.augment is not None:
            h = rec.augment.to_layer(seed=args.seed)(h)
        if norm is not None:
            h = norm.to_layer()(h)
        net = keras.Model(inputs, net(h))
        net.compile(keras.optimizers.get({"class_name": rec.optimizer,
                                          "config": {"learning_rate": rec.learning_rate}}),
                    "sparse_categorical_crossentropy", metrics=["accuracy"])
        stop = keras.callbacks.EarlyStopping("val_loss", patience=rec.patience,
                                             restore_best_weights=True)
        t = time.perf_counter()
        hist = net.fit(tr.x.astype("float32"), tr.y, batch_size=rec.batch_size,
                       epochs=rec.epochs, validation_data=(val.x.astype("float32"), val.y),
                       callbacks=[stop, keras.callbacks.TerminateOnNaN()], verbose=2)
        seconds = time.perf_counter() - t
        epochs = len(hist.history["loss"])
        acc = {k: float(np.mean(net.predict(s.x.astype("float32"), batch_size=1024,
                                            verbose=0).argmax(1) == s.y))
               for k, s in tests.items()}
        rows.append({"config": name, "seed": args.seed,
                     "policy": keras.mixed_precision.global_policy().name, "epochs": epochs,
                     "best_epoch": stop.best_epoch + 1, "seconds": round(seconds, 1),
                     "images_per_s": round(epochs * len(tr) / seconds),
                     **{f"{k}_acc": round(v, 4) for k, v in acc.items()}})
        print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    print(table.to_string(index=False))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / f"full_recipe_seed{args.seed}.csv", index=False)


if __name__ == "__main__":
    main()
