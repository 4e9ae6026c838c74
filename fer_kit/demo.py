"""The main job (``make demo`` / ``fer-kit demo``): the data part of the kit, end to end.

It grows with the kit: today it loads the data (SynthFER unless FER_KIT_DATA is
set), prints class counts, finds outliers, shows the flip-before-split leak and
saves a sample grid per class to build/figures.
"""
from __future__ import annotations

import time

from . import config, plots
from .data import io, outliers, split


def run_demo(profile: str | None = None) -> int:
    t0 = time.perf_counter()
    prof = config.setup(seed=0, profile=profile)
    data = io.load(prof.name)
    print(f"\n== {data.name}: loaded in {time.perf_counter() - t0:.1f} s")
    print(data.summary().to_string())

    train, val = split.train_val_split(data.train, 0.1, seed=0)
    print(f"\n== 90/10 split: {len(train)} train, {len(val)} val; after flip doubling "
          f"{len(split.flip_double(train))} train images")
    print(split.mirror_leak(data.train.y).to_string())

    found = outliers.find_outliers(train.x, train.y)
    print(f"\n== outliers in the training split: {len(found)}")
    print(found["reason"].value_counts().to_string())

    fig = plots.class_grid(data.train.x, data.train.y, per_class=10)
    print(f"\nsaved {plots.save(fig, '00_class_grid')}")
    print(f"done in {time.perf_counter() - t0:.1f} s")
    return 0
