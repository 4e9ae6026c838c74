"""A registered network over training seeds, at a profile, stored for notebook 02.

Run:  python benchmarks/seed_spread.py [--profile demo] [--model vgg_selu] [--seeds 0,1,2]

Notebook 02 compares the CNN, two DNNs and logistic regression over training seeds. It
trains the DNNs' seeds itself (half a minute each in the demo profile), and the CNN's
first seed is notebook 01's run; the CNN's other seeds cost about 5 minutes each on a
2-core CPU, more than make demo can afford. This script trains them once (``get_run``:
a run already in FER_KIT_RUNS is loaded, not retrained) and writes one row per seed to
``benchmarks/results/seeds_<profile>_<model>.csv``: the seed, epochs run, the epoch kept,
validation, PublicTest and PrivateTest accuracy, and what identifies the training (data
hash, profile, width, recipe) and where it ran. Notebook 02 uses a stored row only for
exactly that data, profile, width and recipe, and trains any seed it lacks; it prints
its own first seed beside the stored one, so a reader sees whether this machine
reproduces the stored figures.
"""
from __future__ import annotations

import argparse
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default="demo")
    ap.add_argument("--model", default="vgg_selu")
    ap.add_argument("--recipe", default="keras_vgg")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--out", default=None,
                    help="default: benchmarks/results/seeds_<profile>_<model>.csv")
    args = ap.parse_args()
    import fer_kit as fk

    prof = fk.setup(seed=0, profile=args.profile)
    data = fk.data.load(prof.name)
    rows = []
    for s in (int(v) for v in args.seeds.split(",")):
        run = fk.train.get_run(data, args.model, args.recipe, profile=prof, seed=s, verbose=0)
        rows.append(fk.evaluate.seed_row(run, data, s))
        print(f"seed {s}: " + ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                                        for k, v in rows[-1].items() if k != "seed"), flush=True)
    name = f"seeds_{prof.name}_{args.model}.csv"
    out = Path(args.out or Path(__file__).parent / "results" / name)
    fk.evaluate.write_seed_rows(rows, out, data, prof, args.model, args.recipe)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
