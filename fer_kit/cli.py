"""The ``fer-kit`` command line.

    fer-kit synth --out DIR [--n-train N] [--n-test N] [--course-files]
    fer-kit info [PATH]            summary of a data file (default: FER_KIT_DATA or SynthFER)
    fer-kit demo                   the main job on SynthFER (what ``make demo`` runs)

Errors a user can cause (a missing file, a bad row, an unknown profile) end with
one ``fer-kit: error: ...`` line and exit status 2, not a traceback.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .config import ConfigError


def _cmd_synth(args) -> int:
    from .data.synth import write_synthfer
    t0 = time.perf_counter()
    csv = write_synthfer(args.out, n_train=args.n_train, n_test=args.n_test, seed=args.seed,
                         course_files=args.course_files)
    n = args.n_train + 2 * args.n_test
    print(f"wrote {n} SynthFER images to {csv} (+ masks) in {time.perf_counter() - t0:.1f} s")
    if args.course_files:
        print(f"also wrote {Path(args.out) / 'train.csv'}, test.csv and test_labels.csv")
    return 0


def _cmd_info(args) -> int:
    from .data import io
    t0 = time.perf_counter()
    ds = io.read(args.path, on_error=args.on_error) if args.path else io.load()
    print(f"{ds.name}: read in {time.perf_counter() - t0:.2f} s")
    print(ds.summary().to_string())
    if len(ds.skipped):
        print(f"\n{len(ds.skipped)} rows skipped:")
        print(ds.skipped.head(20).to_string(index=False))
    return 0


def _cmd_demo(args) -> int:
    from .demo import run_demo
    return run_demo(profile=args.profile)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="fer-kit", description="fer_kit: facial-expression "
                                "recognition with Keras 3 (FER2013 or SynthFER).")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("synth", help="write SynthFER as fer2013.csv (and train/test.csv)")
    s.add_argument("--out", required=True, help="output folder")
    s.add_argument("--n-train", type=int, default=28709, help="Training rows (default: 28709, as FER2013)")
    s.add_argument("--n-test", type=int, default=3589, help="rows in each of PublicTest and PrivateTest")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--course-files", action="store_true",
                   help="also write train.csv, test.csv and test_labels.csv")
    s.set_defaults(func=_cmd_synth)

    s = sub.add_parser("info", help="read a data file and print its class counts")
    s.add_argument("path", nargs="?", help="fer2013.csv or a folder with train.csv/test.csv")
    s.add_argument("--on-error", choices=["raise", "skip"], default="raise")
    s.set_defaults(func=_cmd_info)

    s = sub.add_parser("demo", help="run the main job on SynthFER")
    s.add_argument("--profile", default=None, help="smoke, demo or full (default: FER_KIT_PROFILE)")
    s.set_defaults(func=_cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .data.csvparse import FERDataError
    try:
        return args.func(args)
    except (FERDataError, ConfigError, FileNotFoundError, ValueError) as e:
        print(f"fer-kit: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fer-kit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
