"""Claim: SynthFER generates at least 2,000 images/s on a 2-core machine.

Run:  python benchmarks/bench_synth.py [--n 8192] [--repeat 3]
Prints the median images/s over the repeats for the default version, and for version 3
(the earlier flat faces, ``synthfer_v3.py`` beside this script) in the same run, for scale
on a loaded machine.
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
    import synthfer_v3  # benchmarks/ is on sys.path when this script runs

    from fer_kit.data import synth
    generators = {synth.VERSION: synth.generate, 3: synthfer_v3.generate}
    rates = {}
    for version, generate in generators.items():
        generate(256)  # warm-up
        rates[version] = []
        for r in range(args.repeat):
            t = time.perf_counter()
            generate(args.n, seed=r)
            rates[version].append(args.n / (time.perf_counter() - t))
    for version, rs in rates.items():
        print(f"SynthFER v{version}: {statistics.median(rs):,.0f} images/s (median of {args.repeat}, "
              f"{args.n} images each" + ("; claim: >= 2,000)" if version == synth.VERSION else ")"))


if __name__ == "__main__":
    main()
