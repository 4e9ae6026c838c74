"""Seed 003's ablation at the full profile, for a GPU: vgg_selu at full width on full-size
SynthFER with seed 003's recipe, one fresh model per configuration of
``fk.ablation.CONFIGS`` (baseline, augmentation, featurewise, samplewise,
samplewise+featurewise, flip doubling).

Run:  KERAS_BACKEND=jax python benchmarks/full_recipe.py [--configs baseline,augmentation]
      python benchmarks/full_recipe.py --profile smoke --max-epochs 1   # a quick CPU try

It calls ``fk.train``'s four steps (prepare_data, build_model, compile_model, fit_model),
as ``fk.train.fit`` does, so it runs on any backend (a JAX-only GPU machine too): images
go in as NumPy arrays, the augmentation and the normalizer are layers of the model.
Prints one row per configuration: epochs run (EarlyStopping on val_loss, best weights
restored), seconds, end-to-end training images/s (validation, history and checkpoints
included) and val/public/private accuracy; writes full_recipe_seed<seed>.csv to --out.
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
    ap.add_argument("--mixed-precision", default="auto",
                    help="auto (bfloat16 on a GPU), bfloat16, float16 or float32")
    ap.add_argument("--rescale", default="recipe",
                    help="'recipe' (1/255), 'none' (raw 0-255 pixels) or a number")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=".")
    args = ap.parse_args()
    import keras
    import pandas as pd

    import fer_kit as fk
    from fer_kit import train
    from fer_kit.ablation import CONFIGS

    prof = fk.get_profile(args.profile)
    base = train.get_recipe("keras_vgg")
    if args.max_epochs:
        base = replace(base, epochs=min(base.epochs, args.max_epochs))
    if args.rescale != "recipe":
        base = replace(base, rescale=None if args.rescale == "none" else float(args.rescale))
    policy = train.precision_policy(args.mixed_precision)
    names = list(CONFIGS) if args.configs == "all" else args.configs.split(",")
    data = fk.data.load(profile=prof.name, seed=args.seed)
    out = Path(args.out)
    rows = []
    for name in names:
        fk.config.seed_everything(args.seed)
        prep = train.prepare_data(data.train, replace(base, **CONFIGS[name]), prof,
                                  split_seed=args.seed)
        rec = prep.recipe
        if not rows:
            print(f"{data.name}: {len(prep.pool)} pool / {len(prep.val)} val / "
                  f"{len(data.public)} public / {len(data.private)} private; {args.model} "
                  f"width {prof.width}; backend {keras.backend.backend()}; "
                  f"{policy or 'float32'}; recipe {rec.name}: {rec.optimizer} "
                  f"{rec.learning_rate}, batch {rec.batch_size}, <= {rec.epochs} epochs, "
                  f"patience {rec.patience}, rescale {rec.rescale}", flush=True)
        with train.policy_scope(policy):
            net = train.build_model(args.model, prep, prof)
            train.compile_model(net, rec)
        res = train.fit_model(net, prep, out / f"run-{name}-rng{args.seed}", seed=args.seed,
                              verbose=2, data_name=data.name, profile=prof, policy=policy,
                              width=prof.width)
        epochs = len(res.history)
        tests = {"val": prep.val, "public": data.public, "private": data.private}
        acc = {k: fk.evaluate.accuracy(s.y, fk.evaluate.predict(res.model, s.x))
               for k, s in tests.items()}
        best = int(res.history["val_loss"].idxmin()) + 1
        rows.append({"config": name, "seed": args.seed, "policy": policy or "float32",
                     "epochs": epochs, "best_epoch": best, "seconds": round(res.seconds, 1),
                     "images_per_s": round(epochs * len(prep.train) / res.seconds),
                     "nan_stop": bool(~np.isfinite(res.history["loss"]).all()),
                     **{f"{k}_acc": round(v, 4) for k, v in acc.items()}})
        print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    print(table.to_string(index=False))
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / f"full_recipe_seed{args.seed}.csv", index=False)


if __name__ == "__main__":
    main()
