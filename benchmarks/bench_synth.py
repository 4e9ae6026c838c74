"""Claim: SynthFER generates at least 2,000 images/s on a 2-core machine.

Run:  python benchmarks/bench_synth.py [--n 8192] [--repeat 3]
Prints the median images/s over the repeats (no alternative generator exists to compare with).
"""
from __future__ import annotations

import argparse
import statistics
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=8192)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from fer_kit.data import synth
    synth.generate(256)  # warm-up
    rates = []
    for r in range(args.repeat):
        t = time.perf_counter()
        synth.generate(args.n, seed=r)
        rates.append(args.n / (time.perf_counter() - t))
    print(f"SynthFER: {statistics.median(rates):,.0f} images/s (median of {args.repeat}, "
          f"{args.n} images each; claim: >= 2,000)")


if __name__ == "__main__":
    main()
